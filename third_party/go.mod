// Fetched third-party sources (some carry Go tooling of their own) live below
// this folder; this module file keeps them out of the binding's ./... pattern.
module github.com/s2n-go/s2n/third_party

go 1.26
