//go:build tools

// Package tools pins CoreDNS, the cluster DNS of the real node (run as a host process).
package tools

import _ "github.com/coredns/coredns"
