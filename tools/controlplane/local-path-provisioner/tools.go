//go:build tools

// Wrapper module: pins local-path-provisioner (the provisioner kind ships as its default
// StorageClass), which gives the real node's volume claims directories a non-root pod can write.
package tools

import _ "github.com/rancher/local-path-provisioner"
