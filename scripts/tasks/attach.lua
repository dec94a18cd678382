-- attach.lua: announce an attachment the store has just stored
-- (task.attach), and remember the answer.
--
-- KEYS[1] cb:seq:events               counter: the sequence of event entry ids
-- KEYS[2] cb:stream:task.attached     the event stream
-- KEYS[3] cb:idem:task:{eventId}      the remembered answer to this request
-- ARGV[1] the context (see lib.lua)
-- ARGV[2] the attachment as stored (JSON)
--
-- Attachments live in the durable store, not in Redis: this script only
-- emits the task.attached event (payload: the attachment), through the
-- same entry-id sequence as the other task events so that live views
-- order it among them. A request seen before gets its answer again and
-- emits nothing.
-- Returns {"ok": attachment}.
K.evseq, K.idem = KEYS[1], KEYS[3]
local prev = replay()
if prev then return prev end
emit(KEYS[2], 'task.attached', ARGV[2], now_ms())
return ok(ARGV[2])
