//go:build !linux

package redisserver

import "syscall"

// sysProcAttr: no parent-death signal here; killStale cleans up instead.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
