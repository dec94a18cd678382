package tasks

import "github.com/claudebench/cb/protocol"

// The KEYS of each task script, in the order of its header (see the .lua
// files in scripts/tasks). Every key is built by package protocol; the
// streams of task events are built once.

var (
	streamCreated    = protocol.StreamKey("task.created")
	streamClaimed    = protocol.StreamKey("task.claimed")
	streamCompleted  = protocol.StreamKey("task.completed")
	streamFailed     = protocol.StreamKey("task.failed")
	streamUpdated    = protocol.StreamKey("task.updated")
	streamAssigned   = protocol.StreamKey("task.assigned")
	streamUnassigned = protocol.StreamKey("task.unassigned")
	streamDeleted    = protocol.StreamKey("task.deleted")
	streamRequeued   = protocol.StreamKey("task.requeued")
)

func createKeys(eventID string) []string {
	return []string{protocol.QueueTasksKey, protocol.QueueNotifyKey, protocol.TaskSeqKey,
		protocol.EventSeqKey, streamCreated, protocol.TaskIdemKey(eventID)}
}

func claimKeys(eventID, worker string) []string {
	return []string{protocol.QueueTasksKey, protocol.LeasesKey, protocol.AssignedKey(worker),
		protocol.EventSeqKey, streamClaimed, protocol.TaskIdemKey(eventID)}
}

// finishKeys: status is "completed" or "failed".
func finishKeys(eventID, id, worker, status string) []string {
	stream := streamCompleted
	if status != "completed" {
		stream = streamFailed
		if status != "failed" {
			stream = protocol.StreamKey("task." + status)
		}
	}
	return []string{protocol.TaskKey(id), protocol.LeasesKey, protocol.AssignedKey(worker),
		protocol.EventSeqKey, stream, protocol.TaskIdemKey(eventID)}
}

func renewKeys(eventID, id string) []string {
	return []string{protocol.TaskKey(id), protocol.LeasesKey, protocol.TaskIdemKey(eventID)}
}

func updateKeys(eventID, id string) []string {
	return []string{protocol.TaskKey(id), protocol.QueueTasksKey, protocol.QueueNotifyKey,
		protocol.LeasesKey, protocol.EventSeqKey, streamUpdated, protocol.TaskIdemKey(eventID)}
}

// assignKeys: instance "" unassigns.
func assignKeys(eventID, id, instance string) []string {
	stream := streamAssigned
	if instance == "" {
		stream = streamUnassigned
	}
	return []string{protocol.TaskKey(id), protocol.InstanceKey(instance), protocol.AssignedKey(instance),
		protocol.QueueTasksKey, protocol.QueueNotifyKey, protocol.LeasesKey, protocol.EventSeqKey,
		stream, protocol.TaskIdemKey(eventID)}
}

func deleteKeys(eventID, id string) []string {
	return []string{protocol.TaskKey(id), protocol.TaskTombstoneKey(id), protocol.QueueTasksKey,
		protocol.LeasesKey, protocol.EventSeqKey, streamDeleted, protocol.TaskIdemKey(eventID)}
}

func releaseKeys(worker string) []string {
	return []string{protocol.AssignedKey(worker), protocol.InstancesKey, protocol.QueueTasksKey,
		protocol.QueueNotifyKey, protocol.LeasesKey, protocol.EventSeqKey, streamRequeued, streamFailed}
}

func expireKeys() []string {
	return []string{protocol.LeasesKey, protocol.QueueTasksKey, protocol.QueueNotifyKey,
		protocol.EventSeqKey, streamRequeued, streamFailed}
}

func restoreKeys(id, assignedTo string) []string {
	return []string{protocol.TaskKey(id), protocol.TaskTombstoneKey(id), protocol.AssignedKey(assignedTo),
		protocol.QueueTasksKey, protocol.QueueNotifyKey, protocol.LeasesKey}
}
