package protocol

// Every Redis key ClaudeBench uses is built here and nowhere else, under the
// "cb:" prefix. The names of the original ClaudeBench (cb:stream:{type},
// cb:task:{id}, cb:queue:tasks, cb:instance:{id}, cb:hooks:{type},
// cb:circuit:{handler}, cb:rate:{id}:{window}, cb:response:{id}) are kept.

// GroupName is the consumer group every handler stream is read through.
const GroupName = "cbd"

// StreamKey is the stream of events of one type, cb:stream:{eventType}.
func StreamKey(eventType string) string { return "cb:stream:" + eventType }

// StreamKeyPrefix is the common prefix of all event streams (for SCAN).
const StreamKeyPrefix = "cb:stream:"

// StreamsKey is the set of event types that have, or may soon have, a
// stream (cb:stream:{type}): every writer adds the type (SADD, O(1)) when
// or before it appends, so readers list the streams in O(streams) instead
// of SCANning the whole keyspace, which holds two keys per task.
const StreamsKey = "cb:streams"

// TaskKey is the hash holding one task, cb:task:{taskId}.
func TaskKey(taskID string) string { return "cb:task:" + taskID }

// QueueTasksKey is the sorted set of pending task ids by priority.
const QueueTasksKey = "cb:queue:tasks"

// InstanceKey is the hash of a registered instance, cb:instance:{instanceId}.
func InstanceKey(instanceID string) string { return "cb:instance:" + instanceID }

// InstancesKey is the sorted set of instance ids scored by last heartbeat (ms).
const InstancesKey = "cb:instances"

// HooksKey is the set of hook definitions for one hook type, cb:hooks:{hookType}.
func HooksKey(hookType string) string { return "cb:hooks:" + hookType }

// CircuitKey holds the circuit breaker state of a handler, cb:circuit:{handler}.
func CircuitKey(handler string) string { return "cb:circuit:" + handler }

// RateKey is the sliding-window sorted set of a rate limit, cb:rate:{id}:{window}.
func RateKey(id, window string) string { return "cb:rate:" + id + ":" + window }

// RequestRateKey is the rate-limit window a request counts in: its method
// and its source (see RateSource), over one second.
func RequestRateKey(ev Event) string { return RateKey(ev.Type+":"+RateSource(ev), "1s") }

// RateSource names the caller a rate limit counts: its session, else its
// producer, else "anonymous".
func RateSource(ev Event) string {
	if ev.Metadata.SessionID != "" {
		return "session:" + ev.Metadata.SessionID
	}
	if ev.Metadata.Source != "" {
		return "source:" + ev.Metadata.Source
	}
	return "anonymous"
}

// LimitsKey is the hash method -> requests per second one source may make
// (0 = no limit), written by every cbd with its heartbeat; call.lua checks
// a request against it before appending it.
const LimitsKey = "cb:limits"

// RateLimitedKey is the hash method -> requests call.lua refused for being
// over the rate limit (they never reach a cbd, which reports them in
// system.metrics and /metrics from here).
const RateLimitedKey = "cb:ratelimited"

// ResponseKey is the list the one answer to a request is pushed to,
// cb:response:{correlationId}.
func ResponseKey(correlationID string) string { return "cb:response:" + correlationID }

// ServingKey is the sorted set of instance ids that currently consume the
// stream of an event type, scored by the unix-ms time their claim expires.
// A caller checks it before waiting for an answer nobody will give.
func ServingKey(eventType string) string { return "cb:serving:" + eventType }

// MethodsKey is the set of every method some cbd has registered; callers
// use it to tell an unknown method from one nobody serves right now.
const MethodsKey = "cb:methods"

// TaskSeqKey is the counter that makes task ids unique within a millisecond.
const TaskSeqKey = "cb:seq:tasks"

// EventSeqKey is the counter whose values are the sequence part of the
// stream ids of task events (<ms>-<n>): one counter for all their streams,
// so events written in the same millisecond sort in the order written.
const EventSeqKey = "cb:seq:events"

// QueueNotifyKey is a capped list with one token per task made claimable;
// waiting claimers block on it instead of polling.
const QueueNotifyKey = "cb:queue:notify"

// AssignedKey is the set of task ids in progress for one worker or instance.
func AssignedKey(workerID string) string { return "cb:assigned:" + workerID }

// LeasesKey is the sorted set of in-progress task ids scored by the unix-ms
// time their claim's lease runs out; the reaper gives back those past it.
const LeasesKey = "cb:leases"

// TaskTombstoneKey marks a task deleted from Redis whose store row may not
// be gone yet (TTL a few minutes), so a restore running meanwhile does not
// bring it back, cb:deleted:{taskId}.
func TaskTombstoneKey(taskID string) string { return "cb:deleted:" + taskID }

// DataMarkerKey is set by cbd when it has put the store's tasks into Redis.
// Redis losing it means Redis lost its data (a restart without
// persistence, FLUSHALL): every cbd then restores tasks, queue, consumer
// groups and its registration while it runs.
const DataMarkerKey = "cb:data-marker"

// TaskIdemKey maps a request's event id to the task it created, so a
// redelivered task.create creates nothing new.
func TaskIdemKey(eventID string) string { return "cb:idem:task:" + eventID }

// TodoKey maps a Claude Code session's todo (by content) to its task id.
func TodoKey(sessionID string) string { return "cb:todo:" + sessionID }

// WorkKey marks a Claude Code session that opted in to work feeding ("on")
// or out of it ("off"), with the TTL of the opt-in (task.work).
func WorkKey(sessionID string) string { return "cb:work:" + sessionID }

// FeedKey holds what work feeding handed a worker (a session, or one of
// its subagents or teammates): the task it works on and how many times in
// a row its stop was blocked.
func FeedKey(workerID string) string { return "cb:feed:" + workerID }

// DeadLetterStream is the event type of requests that kept failing; its
// entries carry the original event, the stream and the error.
const DeadLetterStream = "system.deadletter"

// HooksDisabledKey is the set of rule ids switched off at run time.
const HooksDisabledKey = "cb:hooks-disabled"

// SettingsGuardKey is the set of Claude Code settings files (absolute
// paths) known to hold ClaudeBench's hooks, cb:settings-guard. cbd's
// settings guard sets each member from the file itself: on SessionStart
// for the user (the session's config dir), project and local settings
// files, and on every ConfigChange of a file. A ConfigChange that leaves
// a member without ClaudeBench's hooks is one that switches the guard off
// (policy special disables_cb_hooks). Members are removed only when a
// SessionStart finds the file without them; no TTL: it holds one path per
// settings file, and a file forgotten would be an unguarded one.
const SettingsGuardKey = "cb:settings-guard"

// HooksChannel is the pub/sub channel that announces a rule change; every
// cbd reloads its rules when a message arrives.
const HooksChannel = "cb:hooks-changed"
