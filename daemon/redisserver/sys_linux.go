package redisserver

import "syscall"

// sysProcAttr makes redis-server die with cbd even when cbd is SIGKILLed.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
