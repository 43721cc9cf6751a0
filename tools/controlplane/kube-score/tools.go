//go:build tools

// Wrapper module: pins kube-score, the outside linter the tests run on every rendered variant
// (tests/unit/test_kube_score.py).
package tools

import _ "github.com/zegl/kube-score/cmd/kube-score"
