//go:build tools

// Package tools pins the etcd that the local etcd image carries: the version production runs
// (the control plane's own etcd is newer and built by ../etcd).
package tools

import _ "go.etcd.io/etcd/server/v3"
