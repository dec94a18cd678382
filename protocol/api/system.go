package api

import "encoding/json"

// Health states of an instance and of system.health as a whole.
const (
	Healthy   = "healthy"
	Degraded  = "degraded"
	Unhealthy = "unhealthy"
)

// HealthStates lists the health states.
var HealthStates = []string{Healthy, Degraded, Unhealthy}

// RedisModes lists how a cbd can run Redis (system.version's redisMode).
var RedisModes = []string{"external", "managed", "embedded"}

// Instance is a registered instance (common.json#/$defs/instance).
type Instance struct {
	ID       string          `json:"id"`
	Roles    []string        `json:"roles"`
	Health   string          `json:"health"` // healthy, degraded or unhealthy
	LastSeen Time            `json:"lastSeen"`
	AgeMs    int64           `json:"ageMs" schema:"optional"` // since LastSeen
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// VersionResult is system.version's result.
type VersionResult struct {
	Version    string `json:"version"`
	InstanceID string `json:"instanceId"`
	RedisMode  string `json:"redisMode"` // external, managed or embedded
}

// RegisterParams are system.register's params.
type RegisterParams struct {
	ID       string          `json:"id"`
	Roles    []string        `json:"roles,omitempty"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// RegisterResult is system.register's result.
type RegisterResult struct {
	Registered bool     `json:"registered"`
	Instance   Instance `json:"instance"`
}

// InstanceParams are the params of system.heartbeat and
// system.unregister.
type InstanceParams struct {
	InstanceID string `json:"instanceId"`
}

// HeartbeatResult is system.heartbeat's result.
type HeartbeatResult struct {
	Alive bool `json:"alive"`
}

// UnregisterResult is system.unregister's result.
type UnregisterResult struct {
	Unregistered bool `json:"unregistered"`
	Released     int  `json:"released"` // tasks put back in the queue
}

// HealthResult is system.health's result.
type HealthResult struct {
	Status    string      `json:"status"` // healthy, degraded or unhealthy
	Instances []Instance  `json:"instances"`
	Redis     RedisStatus `json:"redis"`
	Store     StoreStatus `json:"store"`
}

// RedisStatus is the Redis part of system.health.
type RedisStatus struct {
	Status string `json:"status"` // "ok" or "error: ..."
	Mode   string `json:"mode,omitempty"`
}

// StoreStatus is the store part of system.health.
type StoreStatus struct {
	Status string `json:"status"` // "ok", "not configured" or "error: ..."
	Kind   string `json:"kind,omitempty"`
}

// StateResult is system.get_state's result.
type StateResult struct {
	Instances     []Instance     `json:"instances"`
	QueueDepth    int64          `json:"queueDepth"`
	TasksByStatus map[string]int `json:"tasksByStatus"`
}

// MetricsResult is system.metrics' result.
type MetricsResult struct {
	QueueDepth      int64          `json:"queueDepth"`
	TasksByStatus   map[string]int `json:"tasksByStatus"`
	EventsProcessed int64          `json:"eventsProcessed"`
	// RequestsExpired counts requests dropped unrun because their caller's
	// deadline had passed when this instance read them.
	RequestsExpired int64                     `json:"requestsExpired"`
	Handlers        map[string]HandlerMetrics `json:"handlers"` // by method
}

// HandlerMetrics are one method's counters in system.metrics.
type HandlerMetrics struct {
	Calls        int64   `json:"calls"`
	Errors       int64   `json:"errors"`
	Timeouts     int64   `json:"timeouts"`
	RateLimited  int64   `json:"rateLimited"` // by this cbd, plus callers' refusals (shared)
	CircuitOpen  int64   `json:"circuitOpen"`
	Expired      int64   `json:"expired"` // dropped unrun: the caller's deadline had passed
	Shed         int64   `json:"shed"`    // over the rate limit, answered without the extras
	AvgLatencyMs float64 `json:"avgLatencyMs"`
	MaxLatencyMs float64 `json:"maxLatencyMs"`
}

// DiscoverResult is system.discover's result.
type DiscoverResult struct {
	Methods []MethodSchema `json:"methods"`
}

// MethodSchema is one method's published schema. It converts to and from
// schemas.Method.
type MethodSchema struct {
	Name        string          `json:"name"`
	Description string          `json:"description" schema:"optional"`
	Input       json.RawMessage `json:"inputSchema"`
	Output      json.RawMessage `json:"outputSchema"`
}
