// Package loopback tells listen addresses that only accept local
// connections. cbd uses it to decide whether HTTP needs the API token on
// every request, cb-cli whether an http hook's credential would cross the
// network. It uses the standard library only.
package loopback

import (
	"net"
	"strings"
)

// IsHost reports whether a listen host only accepts local connections:
// localhost or a loopback IP ("" and 0.0.0.0 accept every interface).
func IsHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
