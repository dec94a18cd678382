package tasks

import "github.com/claudebench/cb/protocol"

// The KEYS of each task script, in the order of its header (see the .lua
// files in scripts/tasks). Every key is built by package protocol. The
// constant ones are boxed once, here, and each list is an array the caller
// keeps on its stack: passing KEYS costs a task call only the keys built
// from its ids.
var (
	kQueue     any = protocol.QueueTasksKey
	kNotify    any = protocol.QueueNotifyKey
	kLeases    any = protocol.LeasesKey
	kEventSeq  any = protocol.EventSeqKey
	kTaskSeq   any = protocol.TaskSeqKey
	kInstances any = protocol.InstancesKey

	kCreated    any = protocol.StreamKey("task.created")
	kClaimed    any = protocol.StreamKey("task.claimed")
	kCompleted  any = protocol.StreamKey("task.completed")
	kFailed     any = protocol.StreamKey("task.failed")
	kUpdated    any = protocol.StreamKey("task.updated")
	kAssigned   any = protocol.StreamKey("task.assigned")
	kUnassigned any = protocol.StreamKey("task.unassigned")
	kDeleted    any = protocol.StreamKey("task.deleted")
	kRequeued   any = protocol.StreamKey("task.requeued")
	kAttached   any = protocol.StreamKey("task.attached")
)

// eventTypes are the types of the task events the scripts append; their
// streams join the index of streams when tasks are restored (at start and
// after Redis lost its data), before a script can write one.
var eventTypes = []string{"task.created", "task.claimed", "task.completed", "task.failed", "task.updated",
	"task.assigned", "task.unassigned", "task.deleted", "task.requeued", "task.attached"}

func createKeys(eventID string) [6]any {
	return [...]any{kQueue, kNotify, kTaskSeq, kEventSeq, kCreated, protocol.TaskIdemKey(eventID)}
}

func claimKeys(eventID, worker string) [6]any {
	return [...]any{kQueue, kLeases, protocol.AssignedKey(worker), kEventSeq, kClaimed,
		protocol.TaskIdemKey(eventID)}
}

// finishKeys: status is "completed" or "failed".
func finishKeys(eventID, id, worker, status string) [6]any {
	stream := kCompleted
	if status != "completed" {
		stream = kFailed
	}
	return [...]any{protocol.TaskKey(id), kLeases, protocol.AssignedKey(worker), kEventSeq, stream,
		protocol.TaskIdemKey(eventID)}
}

func attachKeys(eventID string) [3]any {
	return [...]any{kEventSeq, kAttached, protocol.TaskIdemKey(eventID)}
}

func renewKeys(eventID, id string) [3]any {
	return [...]any{protocol.TaskKey(id), kLeases, protocol.TaskIdemKey(eventID)}
}

func updateKeys(eventID, id string) [7]any {
	return [...]any{protocol.TaskKey(id), kQueue, kNotify, kLeases, kEventSeq, kUpdated,
		protocol.TaskIdemKey(eventID)}
}

// assignKeys: instance "" unassigns.
func assignKeys(eventID, id, instance string) [9]any {
	stream := kAssigned
	if instance == "" {
		stream = kUnassigned
	}
	return [...]any{protocol.TaskKey(id), protocol.InstanceKey(instance), protocol.AssignedKey(instance),
		kQueue, kNotify, kLeases, kEventSeq, stream, protocol.TaskIdemKey(eventID)}
}

func deleteKeys(eventID, id string) [7]any {
	return [...]any{protocol.TaskKey(id), protocol.TaskTombstoneKey(id), kQueue, kLeases, kEventSeq,
		kDeleted, protocol.TaskIdemKey(eventID)}
}

func releaseKeys(worker string) [8]any {
	return [...]any{protocol.AssignedKey(worker), kInstances, kQueue, kNotify, kLeases, kEventSeq,
		kRequeued, kFailed}
}

func expireKeys() [6]any {
	return [...]any{kLeases, kQueue, kNotify, kEventSeq, kRequeued, kFailed}
}

func restoreKeys(id, assignedTo string) [6]any {
	return [...]any{protocol.TaskKey(id), protocol.TaskTombstoneKey(id), protocol.AssignedKey(assignedTo),
		kQueue, kNotify, kLeases}
}
