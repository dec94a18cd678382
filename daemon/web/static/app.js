// ClaudeBench dashboard. Vanilla JavaScript, no build step, no external
// network: it talks only to the daemon that served it, over POST /rpc
// (JSON-RPC 2.0) and GET /ws (JSON-RPC 2.0 notifications). Both carry the
// HttpOnly session cookie `cb dashboard`'s login link set, and the
// session's key. Browsers send cookies to every port of a host, so a server
// another user runs on another localhost port could get the cookie; the key
// comes in the login redirect's fragment (never sent to a server) and is
// kept in this origin's storage, which pages of other ports cannot read.
'use strict';

(() => {
  // ---------------------------------------------------------------- basics

  const KEY_ITEM = 'cb-session-key';
  const sessionKey = (() => {
    const m = /(?:^#|&)key=([0-9a-f]{64})(?:&|$)/.exec(location.hash);
    if (m) {
      localStorage.setItem(KEY_ITEM, m[1]);
      history.replaceState(null, '', location.pathname + location.search);
    }
    return localStorage.getItem(KEY_ITEM) || '';
  })();

  const STATUSES = ['pending', 'in_progress', 'completed', 'failed'];
  const WORKER_ID = 'dashboard';
  const MAX_EVENT_ROWS = 500;
  const MAX_SESSIONS = 100; // sessions offered in the filter
  const FINISHED_CARDS = 60; // cards shown per finished column
  const TASK_REFRESH_MS = 30000;
  const HEALTH_MS = 5000;
  const METRICS_MS = 3000;
  const METRIC_SAMPLES = 60;
  const AUDIT_MS = 10000;
  const AUDIT_RETRY_MS = 60000;
  const PING_MS = 20000;
  const AUDIT_RECORDS = 500; // recent decisions the per-tool counts cover
  const DENIALS = 12;

  const $ = (sel, root) => (root || document).querySelector(sel);
  const byTestId = (id, root) => $(`[data-testid="${id}"]`, root);

  // The SVG namespace, taken from the HTML parser rather than spelled out.
  const SVG_NS = (() => {
    const t = document.createElement('template');
    t.innerHTML = '<svg></svg>';
    return t.content.firstChild.namespaceURI;
  })();

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else if (k === 'dataset') Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    return node;
  }

  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

  function truncate(s, n) {
    s = String(s);
    return s.length > n ? s.slice(0, n - 1) + '…' : s;
  }

  function compact(v, n) {
    let s;
    try {
      s = typeof v === 'string' ? v : JSON.stringify(v);
    } catch (_) {
      s = String(v);
    }
    return truncate(s === undefined ? '' : s, n || 160);
  }

  function shortId(s, n) {
    s = String(s || '');
    n = n || 10;
    return s.length > n ? s.slice(0, n) + '…' : s;
  }

  function pad(n, w) {
    return String(n).padStart(w || 2, '0');
  }

  function clockTime(ms) {
    const d = new Date(ms);
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  }

  function parseTime(v) {
    if (typeof v === 'number') return v;
    const t = Date.parse(v);
    return Number.isNaN(t) ? 0 : t;
  }

  function ago(ms) {
    if (!(ms >= 0)) return '';
    if (ms < 1000) return 'just now';
    if (ms < 10000) return `${(ms / 1000).toFixed(1)} s ago`;
    if (ms < 60000) return `${Math.round(ms / 1000)} s ago`;
    if (ms < 3600000) return `${Math.round(ms / 60000)} min ago`;
    if (ms < 86400000) return `${Math.round(ms / 3600000)} h ago`;
    return `${Math.round(ms / 86400000)} d ago`;
  }

  function fmtNum(v, digits) {
    if (v === null || v === undefined || Number.isNaN(v)) return '–';
    if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(1) + 'M';
    if (Math.abs(v) >= 1e4) return (v / 1e3).toFixed(1) + 'k';
    return v.toFixed(digits === undefined ? 0 : digits);
  }

  function fmtMs(v) {
    if (v === null || v === undefined || Number.isNaN(v)) return '–';
    if (v < 1) return `${(v * 1000).toFixed(0)} µs`;
    if (v < 100) return `${v.toFixed(1)} ms`;
    return `${v.toFixed(0)} ms`;
  }

  // ------------------------------------------------------------------ toasts

  function toast(message, kind) {
    const box = byTestId('toasts');
    const t = el('div', { class: `toast toast-${kind || 'info'}`, role: kind === 'error' ? 'alert' : 'status', 'data-testid': 'toast' }, message);
    box.append(t);
    while (box.children.length > 4) box.firstElementChild.remove();
    setTimeout(() => t.remove(), kind === 'error' ? 7000 : 3500);
  }

  // --------------------------------------------------------------- JSON-RPC

  class RpcError extends Error {
    constructor(code, message, data) {
      super(message || `error ${code}`);
      this.code = code;
      this.data = data;
    }
  }

  let rpcSeq = 0;

  async function post(body) {
    let res;
    try {
      res = await fetch('/rpc', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CB-Session-Key': sessionKey },
        body: JSON.stringify(body),
        cache: 'no-store',
        credentials: 'same-origin',
      });
    } catch (err) {
      throw new RpcError(-32006, `cbd unreachable (${err.message})`);
    }
    const text = await res.text();
    if (res.status === 401) {
      throw new RpcError(-32007, 'not logged in (the session ended): run `cb dashboard` for a new login link');
    }
    try {
      return JSON.parse(text);
    } catch (_) {
      throw new RpcError(res.ok ? -32700 : -32006, `HTTP ${res.status}: ${truncate(text.trim() || res.statusText, 200)}`);
    }
  }

  function answer(msg) {
    if (!msg || typeof msg !== 'object') throw new RpcError(-32603, 'empty answer');
    if (msg.error) throw new RpcError(msg.error.code, msg.error.message, msg.error.data);
    return msg.result;
  }

  function rpc(method, params) {
    return post({ jsonrpc: '2.0', id: ++rpcSeq, method, params: params || {} }).then(answer);
  }

  // rpcBatch sends calls ([{method, params}]) as one JSON-RPC batch and
  // returns one {result} or {error} per call, in order.
  async function rpcBatch(calls) {
    const reqs = calls.map((c) => ({ jsonrpc: '2.0', id: ++rpcSeq, method: c.method, params: c.params || {} }));
    const out = await post(reqs);
    if (!Array.isArray(out)) {
      // A server that refuses batches answers with one error: go one by one.
      return Promise.all(calls.map((c) => rpc(c.method, c.params).then((result) => ({ result }), (error) => ({ error }))));
    }
    const byId = new Map(out.map((m) => [m && m.id, m]));
    return reqs.map((r) => {
      try {
        return { result: answer(byId.get(r.id)) };
      } catch (error) {
        return { error };
      }
    });
  }

  // ------------------------------------------------------------- connection

  const conn = {
    ws: null, attempt: 0, seq: 0, pending: new Map(), pingTimer: 0, everLive: false,
    lastEntryMs: 0, // Redis time of the newest event seen: where a reconnect resumes
    seen: new Set(), // "stream entryId" of events already handled (a resumed stream may repeat some)
    seenOrder: [],
  };

  function setPill(id, state, label, title) {
    const pill = document.getElementById(id);
    pill.dataset.state = state;
    pill.lastElementChild.textContent = label;
    pill.title = title || '';
  }

  function setConn(state, title) {
    const labels = { connecting: 'connecting', live: 'live', offline: 'offline' };
    setPill('conn-status', state, labels[state] || state, title);
  }

  function wsCall(method, params, timeoutMs) {
    const ws = conn.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new RpcError(-32006, 'not connected'));
    const id = ++conn.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        conn.pending.delete(id);
        reject(new RpcError(-32003, `${method}: no answer`));
      }, timeoutMs || 10000);
      conn.pending.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params: params || {} }));
    });
  }

  function connect() {
    setConn('connecting');
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws;
    try {
      ws = new WebSocket(`${scheme}//${location.host}/ws?key=${sessionKey}`);
    } catch (err) {
      reconnectLater(err.message);
      return;
    }
    conn.ws = ws;
    ws.onopen = () => {
      const params = { patterns: ['*'] };
      // After a drop, ask for what was missed (the server replays it).
      if (conn.everLive && conn.lastEntryMs) params.since = conn.lastEntryMs;
      wsCall('subscribe', params)
        .then(() => {
          conn.attempt = 0;
          setConn('live', 'Subscribed to every event');
          if (conn.everLive) {
            // Catch up with what was missed.
            loadTasks();
            atts.reload();
          }
          conn.everLive = true;
          clearInterval(conn.pingTimer);
          conn.pingTimer = setInterval(() => {
            wsCall('ping', {}, 10000).catch(() => ws.close());
          }, PING_MS);
        })
        .catch((err) => {
          setConn('offline', `subscribe failed: ${err.message}`);
          ws.close();
        });
    };
    ws.onmessage = (m) => {
      let msg;
      try {
        msg = JSON.parse(m.data);
      } catch (_) {
        return;
      }
      for (const one of Array.isArray(msg) ? msg : [msg]) onWsMessage(one);
    };
    ws.onerror = () => {}; // onclose follows and reconnects
    ws.onclose = (ev) => {
      clearInterval(conn.pingTimer);
      for (const [, p] of conn.pending) {
        clearTimeout(p.timer);
        p.reject(new RpcError(-32006, 'connection closed'));
      }
      conn.pending.clear();
      if (conn.ws === ws) {
        conn.ws = null;
        reconnectLater(ev.reason || (ev.code ? `closed (${ev.code})` : 'closed'));
      }
    };
  }

  function reconnectLater(why) {
    const delay = Math.min(15000, 500 * 2 ** conn.attempt) * (0.75 + Math.random() * 0.5);
    conn.attempt++;
    setConn('offline', `${why}; reconnecting in ${(delay / 1000).toFixed(1)} s`);
    setTimeout(connect, delay);
  }

  function onWsMessage(msg) {
    if (!msg || typeof msg !== 'object') return;
    if (msg.method === 'event' && msg.params) {
      onEvent(msg.params);
      return;
    }
    const p = msg.id !== undefined && conn.pending.get(msg.id);
    if (!p) return;
    conn.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.error) p.reject(new RpcError(msg.error.code, msg.error.message, msg.error.data));
    else p.resolve(msg.result);
  }

  // ----------------------------------------------------------------- events

  const TASK_CHANGES = new Set(['task.created', 'task.claimed', 'task.completed', 'task.failed', 'task.updated',
    'task.assigned', 'task.unassigned', 'task.requeued']);
  // The base fields of every hook input (reference §1.2): they say little.
  const HOOK_COMMON = new Set(['session_id', 'transcript_path', 'cwd', 'permission_mode', 'hook_event_name', 'prompt_id', 'effort', 'scratchpad_dir']);
  const READS = /^(system\.(health|metrics|get_state|discover|version|heartbeat)|task\.(list|get|attachments)|audit\.list)$/;

  const events = {
    list: byTestId('event-list'),
    paused: false,
    held: [], // events that arrived while paused, newest last
    sessions: new Map(), // session id -> <option>
    filter: { match: () => true, session: '', hideReads: true },
  };

  function sessionOf(e) {
    const m = e.metadata || {};
    const p = e.payload && typeof e.payload === 'object' ? e.payload : {};
    return m.sessionId || p.session_id || '';
  }

  // firstTime records an event's stream and entry id and reports whether
  // it is new. Entry ids are per stream: events of two streams written in
  // the same millisecond can share one, so the stream is part of the key.
  function firstTime(e) {
    const entry = e.entryId;
    if (typeof entry !== 'string' || !entry) return true;
    const id = (e.stream || '') + ' ' + entry;
    if (conn.seen.has(id)) return false;
    conn.seen.add(id);
    conn.seenOrder.push(id);
    if (conn.seenOrder.length > 5000) conn.seen.delete(conn.seenOrder.shift());
    const ms = Number.parseInt(entry, 10);
    if (ms > conn.lastEntryMs) conn.lastEntryMs = ms;
    return true;
  }

  function onEvent(e) {
    if (!e || typeof e.type !== 'string' || !firstTime(e)) return;
    if (TASK_CHANGES.has(e.type) && e.payload && e.payload.id && e.payload.status) tasks.apply(e.payload, e.type);
    else if (e.type === 'task.deleted' && e.payload && e.payload.id) tasks.remove(e.payload.id);
    else if (e.type === 'task.attached' && e.payload && e.payload.taskId) atts.onAttached(e.payload);
    if (e.type.startsWith('hook.')) hooks.onHookEvent(e);
    const session = sessionOf(e);
    if (session && !events.sessions.has(session)) addSession(session);
    if (events.paused) {
      events.held.push(e);
      if (events.held.length > MAX_EVENT_ROWS) events.held.shift();
      updatePauseLabel();
      return;
    }
    addEventRow(e);
  }

  function addSession(id) {
    const select = byTestId('event-session');
    const opt = el('option', { value: id, title: id }, shortId(id, 14));
    events.sessions.set(id, opt);
    select.append(opt);
    // Keep the list usable: forget the oldest sessions (not the chosen one).
    for (const [old, o] of events.sessions) {
      if (events.sessions.size <= MAX_SESSIONS) break;
      if (old === select.value) continue;
      o.remove();
      events.sessions.delete(old);
    }
  }

  function category(type) {
    const dot = type.indexOf('.');
    return dot > 0 ? type.slice(0, dot) : type;
  }

  function toolSummary(name, input) {
    input = input && typeof input === 'object' ? input : {};
    const main = input.command || input.file_path || input.notebook_path || input.path || input.pattern || input.url || input.query || input.description;
    return main ? `${name}: ${truncate(main, 140)}` : `${name} ${compact(input, 120)}`;
  }

  // hookSummary says what a hook event is about, per Claude Code event
  // (cb sessions show's hookDetail says the same); '' leaves it to the
  // generic summary.
  function hookSummary(p) {
    const join = (sep, ...parts) => parts.filter((x) => x !== undefined && x !== null && x !== '').join(sep);
    const str = (v) => (typeof v === 'string' ? v : '');
    const quoted = (v) => (str(v) ? `“${truncate(str(v).replace(/\s+/g, ' '), 100)}”` : '');
    const paren = (v) => (str(v) ? `(${v})` : '');
    switch (p.hook_event_name) {
      case 'PostToolUseFailure':
        return join(' → ', toolSummary(p.tool_name, p.tool_input), p.is_interrupt ? 'interrupted' : truncate(str(p.error), 100));
      case 'PermissionRequest':
        return `asks: ${toolSummary(p.tool_name, p.tool_input)}`;
      case 'PermissionDenied':
        return join(' → denied: ', toolSummary(p.tool_name, p.tool_input), truncate(str(p.reason), 100));
      case 'PostToolBatch': {
        const calls = Array.isArray(p.tool_calls) ? p.tool_calls : [];
        return `${calls.length} tool calls: ${calls.map((c) => (c && c.tool_name) || '?').join(', ')}`;
      }
      case 'UserPromptExpansion':
        return join(' ', `/${str(p.command_name)}`, truncate(str(p.command_args), 100));
      case 'SessionStart':
        return join(', model ', str(p.source), str(p.model));
      case 'Stop':
      case 'SubagentStop':
        return join(' ', str(p.agent_type), p.stop_hook_active ? '(continuing after a block)' : '', quoted(p.last_assistant_message));
      case 'StopFailure':
        return join(': ', str(p.error), truncate(str(p.error_details), 100));
      case 'SubagentStart':
        return join(' ', str(p.agent_type), str(p.agent_id));
      case 'TeammateIdle':
        return str(p.teammate_name);
      case 'TaskCreated':
      case 'TaskCompleted':
        return join(' ', `${p.hook_event_name === 'TaskCreated' ? 'created' : 'completed'} #${str(p.task_id)}`, quoted(p.task_subject), paren(p.teammate_name));
      case 'PreModelSwitch':
      case 'PostModelSwitch':
        return join(' ', `${str(p.from_model)} → ${str(p.to_model)}`, paren(p.source));
      case 'Notification':
        return join(': ', str(p.notification_type), truncate(str(p.message), 140));
      case 'Elicitation':
        return join(': ', str(p.mcp_server_name), truncate(str(p.message), 140));
      case 'ElicitationResult':
        return join(': ', str(p.mcp_server_name), str(p.action));
      case 'ConfigChange':
        return join(' ', str(p.source), str(p.file_path));
      case 'InstructionsLoaded':
        return join(' ', str(p.file_path), paren(p.load_reason));
      case 'CwdChanged':
        return `${str(p.old_cwd)} → ${str(p.new_cwd)}`;
      case 'FileChanged':
        return join(' ', str(p.event), str(p.file_path));
      case 'DirectoryAdded':
        return join(' ', str(p.directory), paren(p.source));
      case 'WorktreeCreate':
        return str(p.name);
      case 'WorktreeRemove':
        return str(p.worktree_path);
      case 'MessageDisplay':
        return quoted(p.delta);
      case 'SessionEnd':
        return str(p.reason);
      case 'Setup':
      case 'PreCompact':
      case 'PostCompact':
        return str(p.trigger);
    }
    return '';
  }

  function eventSummary(e) {
    const p = e.payload;
    if (!p || typeof p !== 'object') return compact(p, 160);
    if (e.type.startsWith('task.') && p.id && p.status) {
      let s = `${p.id} · ${truncate(p.text || '', 80)} · ${p.status} · P${p.priority}`;
      if (p.assignedTo) s += ` · ${p.assignedTo}`;
      return s;
    }
    if (e.type === 'task.attached' && p.taskId) {
      return `${p.taskId} · ${p.key} (${p.type})${p.createdBy ? ` · by ${p.createdBy}` : ''}`;
    }
    if (e.type === 'hook.decision') {
      let s = `${p.tool || String(p.event || '').replace(/^hook\./, '') || '?'} → ${p.decision || 'no opinion'}`;
      if (Array.isArray(p.ruleIds) && p.ruleIds.length) s += ` · ${p.ruleIds.join(', ')}`;
      if (p.reason) s += ` · ${truncate(p.reason, 100)}`;
      return s;
    }
    if (e.type.startsWith('hook.')) {
      const s = hookSummary(p);
      if (s) return s;
    }
    if (p.tool_name) return toolSummary(p.tool_name, p.tool_input);
    if (typeof p.prompt === 'string') return `“${truncate(p.prompt.replace(/\s+/g, ' '), 150)}”`;
    if (typeof p.message === 'string') return truncate(p.message, 160);
    if (e.type === 'task.create' && p.text) return `“${truncate(p.text, 120)}”${p.priority !== undefined ? ` P${p.priority}` : ''}`;
    if (e.type.startsWith('hook.')) {
      // The fields every hook carries say little; show the others.
      const rest = Object.entries(p).filter(([k]) => !HOOK_COMMON.has(k));
      const text = rest.map(([k, v]) => `${k}: ${compact(v, 60)}`).join(' · ');
      return text || (p.cwd ? `cwd ${p.cwd}` : compact(p, 160));
    }
    return compact(p, 160);
  }

  function addEventRow(e) {
    const meta = e.metadata || {};
    const ts = parseTime(meta.timestamp) || Date.now();
    const session = sessionOf(e);
    const summary = el('summary', { class: 'ev-line' },
      el('time', { class: 'ev-time', datetime: new Date(ts).toISOString() }, clockTime(ts)),
      el('span', { class: `ev-type cat-${category(e.type)}` }, e.type),
      el('span', { class: 'ev-session', title: session || 'no session' }, session ? shortId(session, 8) : '—'),
      el('span', { class: 'ev-summary' }, eventSummary(e)));
    const details = el('details', { class: 'ev' }, summary);
    details.addEventListener('toggle', () => {
      if (details.open && !details.querySelector('pre')) {
        details.append(el('pre', { class: 'ev-json' }, JSON.stringify(e, null, 2)));
      }
    });
    const row = el('li', {
      class: 'event-row', 'data-testid': 'event-row',
      dataset: { type: e.type, session, entryId: e.entryId || '' },
      title: meta.source ? `from ${meta.source}` : undefined,
    }, details);
    row.hidden = !eventVisible(row);
    events.list.prepend(row);
    while (events.list.childElementCount > MAX_EVENT_ROWS) events.list.lastElementChild.remove();
    queueEventMeta();
  }

  let eventMetaQueued = false;

  function queueEventMeta() {
    if (eventMetaQueued) return;
    eventMetaQueued = true;
    requestAnimationFrame(() => {
      eventMetaQueued = false;
      updateEventMeta();
    });
  }

  function eventVisible(row) {
    const f = events.filter;
    const type = row.dataset.type;
    if (f.hideReads && READS.test(type)) return false;
    if (f.session && row.dataset.session !== f.session) return false;
    return f.match(type);
  }

  function compileFilter(text) {
    text = text.trim().toLowerCase();
    if (!text) return () => true;
    if (/[*?]/.test(text)) {
      const re = new RegExp('^' + text.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
      return (type) => re.test(type.toLowerCase());
    }
    return (type) => type.toLowerCase().includes(text);
  }

  function applyEventFilter() {
    events.filter.match = compileFilter(byTestId('event-filter').value);
    events.filter.session = byTestId('event-session').value;
    events.filter.hideReads = byTestId('event-hide-reads').checked;
    for (const row of events.list.children) row.hidden = !eventVisible(row);
    updateEventMeta();
  }

  function updateEventMeta() {
    let shown = 0;
    for (const row of events.list.children) if (!row.hidden) shown++;
    const total = events.list.childElementCount;
    byTestId('events-meta').textContent = shown === total ? `${total} events` : `${shown} of ${total} events`;
    byTestId('event-empty').hidden = shown > 0;
    byTestId('event-empty').textContent = total > 0 ? 'No event matches the filters.' : 'Waiting for events…';
  }

  function updatePauseLabel() {
    const b = byTestId('event-pause');
    b.textContent = events.paused ? (events.held.length ? `Resume (${events.held.length} new)` : 'Resume') : 'Pause';
    b.setAttribute('aria-pressed', String(events.paused));
  }

  function setupEvents() {
    byTestId('event-filter').addEventListener('input', applyEventFilter);
    byTestId('event-session').addEventListener('change', applyEventFilter);
    byTestId('event-hide-reads').addEventListener('change', applyEventFilter);
    byTestId('event-pause').addEventListener('click', () => {
      events.paused = !events.paused;
      if (!events.paused) {
        for (const e of events.held) addEventRow(e);
        events.held = [];
      }
      updatePauseLabel();
    });
    byTestId('event-clear').addEventListener('click', () => {
      events.list.replaceChildren();
      events.held = [];
      updatePauseLabel();
      updateEventMeta();
    });
    updateEventMeta();
  }

  // ------------------------------------------------------------------ tasks

  // The board shows, per column, pages of task.list in the column's order
  // and what changed live since. Columns never hold the whole history: at
  // 100k pending tasks a column is its first pages, counted by totalCount.
  // A live task is shown when it sorts before the last card loaded from the
  // store (or the column is loaded to its end): past that card the page
  // after it, read by cursor, has the tasks in between, and a task there
  // would show out of order. Anything else only changes the count.
  const COLUMNS = {
    // Pending is the queue in claim order (task.claim's: priority, then
    // oldest), read from the store in that order: its first card is what
    // a claim takes.
    pending: { params: { status: 'pending', orderBy: 'queue' }, page: 100, order: queueOrder },
    in_progress: { params: { status: 'in_progress', orderBy: 'updatedAt', order: 'desc' }, page: 100, order: recentOrder },
    completed: { params: { status: 'completed', orderBy: 'updatedAt', order: 'desc' }, page: FINISHED_CARDS, order: recentOrder },
    failed: { params: { status: 'failed', orderBy: 'updatedAt', order: 'desc' }, page: FINISHED_CARDS, order: recentOrder },
  };
  const MAX_PAGE = 1000; // task.list's largest limit
  const RECOUNT_MS = 1500;
  const KNOWN_IDS = 5000;

  // The status each task event moves a task from, for a task this page did
  // not know (one past the loaded cards): what the count moves by.
  const FROM_STATUS = {
    'task.created': null, 'task.claimed': 'pending', 'task.assigned': 'pending', 'task.unassigned': 'in_progress',
    'task.requeued': 'in_progress', 'task.completed': 'in_progress', 'task.failed': 'in_progress',
  };

  function newColumn(spec) {
    // want: how many cards to show (pages asked for); total: matching
    // tasks in the store; last: the last task loaded, the column's edge
    // while hasMore; cursor: the after of the next page.
    return { want: spec.page, total: 0, estimated: false, hasMore: false, cursor: '', last: null, loading: false };
  }

  const tasks = {
    byId: new Map(), // id -> task, the ones a column shows or may show
    touched: new Map(), // id -> local time it last changed
    known: new Map(), // id -> {status, version} of tasks seen lately, shown or not, for counting
    cols: Object.fromEntries(STATUSES.map((s) => [s, newColumn(COLUMNS[s])])),
    cards: new Map(), // id -> {el, sig}
    renderQueued: false,
    loadedOnce: false,
    recountTimer: 0,

    // newer reports whether b is at least as recent as a.
    newer(a, b) {
      if (typeof a.version === 'number' && typeof b.version === 'number') return b.version >= a.version;
      return parseTime(b.updatedAt) >= parseTime(a.updatedAt);
    },

    // inWindow reports whether t sorts within what its column loaded.
    inWindow(t) {
      const col = this.cols[t.status];
      if (!col) return false;
      return !col.hasMore || !col.last || COLUMNS[t.status].order(t, col.last) <= 0;
    },

    remember(t) {
      this.known.delete(t.id);
      this.known.set(t.id, { status: t.status, version: t.version, updatedAt: t.updatedAt });
      if (this.known.size > KNOWN_IDS) this.known.delete(this.known.keys().next().value);
    },

    // apply takes a task as an event or an answer carried it; type is the
    // event's (or the method's, task.claim -> task.claimed) type.
    apply(t, type) {
      const seen = this.byId.get(t.id) || this.known.get(t.id);
      if (Array.isArray(t.attachments)) atts.set(t.id, t.attachments); // task.claim's and task.get's answers
      if (seen && !this.newer(seen, t)) return;
      let from = seen ? seen.status : FROM_STATUS[type];
      if (from === undefined) from = t.status; // unknown: assume unchanged, the recount corrects it
      if (from !== t.status) {
        if (from && this.cols[from]) this.cols[from].total = Math.max(0, this.cols[from].total - 1);
        if (this.cols[t.status]) this.cols[t.status].total++;
      }
      // A guess (a task not seen before) is checked against the store.
      if (!seen && type !== 'task.created') this.scheduleRecount();
      this.remember(t);
      if (this.inWindow(t)) {
        this.byId.set(t.id, t);
        this.touched.set(t.id, Date.now());
      } else {
        this.byId.delete(t.id);
      }
      this.queueRender();
    },

    remove(id) {
      const seen = this.byId.get(id) || this.known.get(id);
      if (seen && this.cols[seen.status]) this.cols[seen.status].total = Math.max(0, this.cols[seen.status].total - 1);
      this.known.delete(id);
      atts.byId.delete(id);
      if (this.byId.delete(id) || seen) this.queueRender();
      this.touched.delete(id);
      this.scheduleRecount();
    },

    // scheduleRecount asks for the exact counts a little later (one
    // task.list of one task per column: the store keeps them as counters),
    // for what the live changes could not tell.
    scheduleRecount() {
      if (this.recountTimer) return;
      this.recountTimer = setTimeout(() => {
        this.recountTimer = 0;
        recountTasks();
      }, RECOUNT_MS);
    },

    queueRender() {
      if (this.renderQueued) return;
      this.renderQueued = true;
      requestAnimationFrame(() => {
        this.renderQueued = false;
        renderBoard();
      });
    },
  };

  // idOrder orders task ids as the store does: shorter first, so that
  // t-<digits> ids come in number order.
  function idOrder(a, b) {
    return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  }

  // queueOrder is task.claim's order: highest priority first, then the
  // oldest (ids grow with time).
  function queueOrder(a, b) {
    return b.priority - a.priority || idOrder(a.id, b.id);
  }

  function recentOrder(a, b) {
    return parseTime(b.updatedAt) - parseTime(a.updatedAt) || idOrder(b.id, a.id);
  }

  // setColumnPage records a column's answer to task.list: its count and
  // where the next page starts.
  function setColumnPage(col, res, list) {
    col.total = res.totalCount || 0;
    col.estimated = !!res.totalEstimated;
    col.hasMore = !!res.hasMore;
    col.cursor = res.nextCursor || '';
    if (list.length) col.last = list[list.length - 1];
  }

  function takeListed(list) {
    for (const t of list) {
      // A list can be older than the events that came while it was on its
      // way: those win.
      const cur = tasks.byId.get(t.id) || tasks.known.get(t.id);
      if (cur && !tasks.newer(cur, t)) continue;
      tasks.byId.set(t.id, t);
      tasks.remember(t);
    }
  }

  async function loadTasks() {
    const started = Date.now();
    // As many cards as each column shows, so that a refresh keeps the
    // pages loaded with "Load more" (up to task.list's limit).
    const specs = STATUSES.map((s) => ({ ...COLUMNS[s].params, limit: Math.min(MAX_PAGE, tasks.cols[s].want) }));
    let answers;
    try {
      answers = await rpcBatch(specs.map((params) => ({ method: 'task.list', params })));
    } catch (err) {
      byTestId('tasks-meta').textContent = `task.list failed: ${err.message}`;
      return;
    }
    const listed = new Set();
    let failed = null;
    answers.forEach((a, i) => {
      if (a.error) {
        failed = a.error;
        return;
      }
      const res = a.result || {};
      const list = Array.isArray(res.tasks) ? res.tasks : [];
      for (const t of list) listed.add(t.id);
      takeListed(list);
      const col = tasks.cols[STATUSES[i]];
      col.last = null;
      setColumnPage(col, res, list);
    });
    if (failed) {
      byTestId('tasks-meta').textContent = `task.list failed: ${failed.message}`;
      return;
    }
    // Forget tasks the store no longer lists (deleted, or out of the
    // window), unless an event changed them while the lists were on their
    // way.
    for (const id of [...tasks.byId.keys()]) {
      const t = tasks.byId.get(id);
      if (listed.has(id)) continue;
      if ((tasks.touched.get(id) || 0) < started - 10000 || !tasks.inWindow(t)) {
        tasks.byId.delete(id);
        tasks.touched.delete(id);
      }
    }
    tasks.loadedOnce = true;
    byTestId('tasks-meta').textContent = `updated ${clockTime(Date.now()).slice(0, 8)}`;
    tasks.queueRender();
  }

  // loadMore reads a column's next page by its cursor.
  async function loadMore(status) {
    const col = tasks.cols[status];
    const spec = COLUMNS[status];
    if (col.loading || !col.hasMore || !col.cursor) return;
    col.loading = true;
    tasks.queueRender();
    try {
      const res = await rpc('task.list', { ...spec.params, limit: spec.page, after: col.cursor });
      const list = Array.isArray(res && res.tasks) ? res.tasks : [];
      takeListed(list);
      setColumnPage(col, res, list);
      col.want += spec.page;
    } catch (err) {
      toast(`Could not load more ${status.replace('_', ' ')} tasks: ${err.message}`, 'error');
    } finally {
      col.loading = false;
      tasks.queueRender();
    }
  }

  async function recountTasks() {
    let answers;
    try {
      answers = await rpcBatch(STATUSES.map((status) => ({ method: 'task.list', params: { status, limit: 1 } })));
    } catch (_) {
      return; // the next refresh counts again
    }
    answers.forEach((a, i) => {
      if (a.error || !a.result) return;
      const col = tasks.cols[STATUSES[i]];
      col.total = a.result.totalCount || 0;
      col.estimated = !!a.result.totalEstimated;
    });
    tasks.queueRender();
  }

  // countText is a count for people: "1000+" when the store stopped
  // counting at its cap.
  function countText(n, estimated) {
    return estimated ? `${n}+` : String(n);
  }

  function cardSig(t) {
    return [t.version, t.status, t.priority, t.text, t.assignedTo, t.attempts, t.updatedAt, t.error, JSON.stringify(t.result)].join('\u0000');
  }

  const cardTemplate = document.getElementById('tpl-card');

  function newCard(id) {
    const card = cardTemplate.content.firstElementChild.cloneNode(true);
    card.dataset.taskId = id;
    return card;
  }

  function fillCard(card, t) {
    card.dataset.status = t.status;
    card.dataset.priority = String(t.priority);
    const prio = $('.prio', card);
    prio.textContent = `P${t.priority}`;
    prio.dataset.level = t.priority >= 75 ? 'high' : t.priority <= 25 ? 'low' : 'mid';
    prio.title = `priority ${t.priority}`;
    $('.card-id', card).textContent = t.id;
    const age = $('.card-age', card);
    age.dataset.ts = String(parseTime(t.updatedAt || t.createdAt));
    age.dateTime = t.updatedAt || t.createdAt || '';
    age.title = `created ${t.createdAt || '?'}\nupdated ${t.updatedAt || '?'}`;
    $('.card-text', card).textContent = t.text;
    const detail = $('.card-detail', card);
    let d = '';
    if (t.status === 'in_progress') d = `▶ ${t.assignedTo || '?'}${t.attempts > 1 ? ` · attempt ${t.attempts}` : ''}`;
    else if (t.status === 'completed') d = t.result !== undefined && t.result !== null ? `✓ ${compact(t.result, 140)}` : `✓ done${t.assignedTo ? ` by ${t.assignedTo}` : ''}`;
    else if (t.status === 'failed') d = `✗ ${truncate(t.error || 'failed', 160)}`;
    else if (t.attempts > 0) d = `requeued · ${t.attempts} attempt${t.attempts > 1 ? 's' : ''} so far`;
    detail.textContent = d;
    detail.hidden = !d;
    // Priority orders the queue, so only a pending task's can be changed here.
    $('.prio-edit', card).hidden = t.status !== 'pending';
    $('[data-action="complete"]', card).hidden = t.status !== 'in_progress';
    $('[data-action="fail"]', card).hidden = t.status !== 'in_progress';
    const input = $('.prio-input', card);
    if (document.activeElement !== input) input.value = String(t.priority);
    if (t.status !== 'in_progress') closeFailForm(card);
    refreshAge(age);
  }

  function refreshAge(node) {
    const ts = Number(node.dataset.ts);
    node.textContent = ts ? ago(Date.now() - ts) : '';
  }

  function renderBoard() {
    const keep = new Set();
    const groups = { pending: [], in_progress: [], completed: [], failed: [] };
    for (const t of tasks.byId.values()) if (groups[t.status] && tasks.inWindow(t)) groups[t.status].push(t);
    for (const status of STATUSES) {
      const column = byTestId(`column-${status}`);
      const box = byTestId(`cards-${status}`);
      const col = tasks.cols[status];
      const list = groups[status].sort(COLUMNS[status].order).slice(0, col.want);
      list.forEach((t, i) => {
        keep.add(t.id);
        let c = tasks.cards.get(t.id);
        if (!c) {
          c = { el: newCard(t.id), sig: '' };
          tasks.cards.set(t.id, c);
          atts.watch(c.el);
          paintAttachments(c.el, t.id);
        }
        const sig = cardSig(t);
        if (c.sig !== sig) {
          fillCard(c.el, t);
          c.sig = sig;
          if (c.el.isConnected) flash(c.el);
        }
        // Only the head of the queue can be claimed: task.claim takes the
        // highest-priority, oldest pending task, not a chosen one, and the
        // column is in that order from the store.
        $('[data-action="claim"]', c.el).hidden = !(status === 'pending' && i === 0);
        const at = box.children[i];
        if (at !== c.el) box.insertBefore(c.el, at || null);
      });
      // Anything after the list in this column left it; a card that moved
      // to a later column is put back there by that column's pass.
      while (box.children.length > list.length) box.lastElementChild.remove();
      // The count is the store's (kept up to date by the live changes);
      // never less than the cards shown.
      const total = Math.max(col.total, list.length);
      const hidden = total - list.length;
      let more = $('.more', column);
      if (hidden > 0 || col.hasMore) {
        if (!more) {
          more = el('div', { class: 'more', 'data-testid': `more-${status}` },
            el('span', { class: 'more-count' }),
            el('button', { type: 'button', class: 'btn btn-small btn-quiet', 'data-action': 'load-more', 'data-status': status, 'data-testid': `load-more-${status}` }, 'Load more'));
          column.append(more);
        }
        $('.more-count', more).textContent = `+ ${countText(hidden, col.estimated)} more`;
        const btn = $('[data-action="load-more"]', more);
        btn.hidden = !col.hasMore;
        btn.disabled = col.loading;
        btn.textContent = col.loading ? 'Loading…' : 'Load more';
      } else if (more) {
        more.remove();
      }
      const count = byTestId(`count-${status}`);
      count.textContent = countText(total, col.estimated);
      count.title = col.estimated ? `at least ${total}: the store stops counting there` : `${total} ${status.replace('_', ' ')}`;
      count.dataset.estimated = String(col.estimated);
      column.classList.toggle('is-empty', list.length === 0);
    }
    for (const [id, c] of tasks.cards) {
      if (!keep.has(id)) {
        c.el.remove();
        tasks.cards.delete(id);
        atts.unwatch(c.el, id);
      }
    }
  }

  function flash(node) {
    node.classList.remove('flash');
    void node.offsetWidth; // restart the animation
    node.classList.add('flash');
  }

  // cardAction runs fn, a call whose answer is a task that had an event of
  // type, with the card's controls disabled meanwhile.
  async function cardAction(card, type, fn) {
    const buttons = card.querySelectorAll('button, input');
    card.classList.add('busy');
    buttons.forEach((b) => (b.disabled = true));
    try {
      const t = await fn();
      if (t && t.id && t.status) tasks.apply(t, type);
      return t;
    } catch (err) {
      toast(err.message, 'error');
      return null;
    } finally {
      card.classList.remove('busy');
      buttons.forEach((b) => (b.disabled = false));
    }
  }

  function openFailForm(card) {
    if ($('.fail-form', card)) {
      $('.fail-form input', card).focus();
      return;
    }
    const input = el('input', { type: 'text', maxlength: 10000, required: true, placeholder: 'What went wrong?', 'data-testid': 'task-fail-reason', 'aria-label': 'Failure reason' });
    const form = el('form', { class: 'fail-form', 'data-testid': 'task-fail-form' },
      input,
      el('button', { type: 'submit', class: 'btn btn-small btn-bad', 'data-testid': 'task-fail-confirm' }, 'Fail task'),
      el('button', { type: 'button', class: 'btn btn-small btn-quiet', 'data-action': 'fail-cancel' }, 'Cancel'));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const reason = input.value.trim();
      if (!reason) {
        input.focus();
        return;
      }
      const id = card.dataset.taskId;
      cardAction(card, 'task.failed', () => rpc('task.fail', { id, error: reason })).then((t) => {
        if (t) {
          closeFailForm(card);
          toast(`Failed ${id}`, 'info');
        }
      });
    });
    card.append(form);
    input.focus();
  }

  function closeFailForm(card) {
    const f = $('.fail-form', card);
    if (f) f.remove();
  }

  const prioTimers = new Map();

  function setPriority(card, value, delay) {
    const id = card.dataset.taskId;
    const t = tasks.byId.get(id);
    if (!t) return;
    value = clamp(Math.round(value), 0, 100);
    $('.prio-input', card).value = String(value);
    clearTimeout(prioTimers.get(id));
    prioTimers.set(id, setTimeout(() => {
      prioTimers.delete(id);
      const cur = tasks.byId.get(id);
      if (!cur || cur.priority === value) return;
      cardAction(card, 'task.updated', () => rpc('task.update', { id, updates: { priority: value } }));
    }, delay));
  }

  function setupTasks() {
    const form = byTestId('task-form');
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const textInput = byTestId('task-text');
      const prioInput = byTestId('task-priority');
      const text = textInput.value.trim();
      const priority = Number.parseInt(prioInput.value, 10);
      if (!text) {
        textInput.focus();
        return;
      }
      const params = { text };
      if (Number.isFinite(priority)) params.priority = clamp(priority, 0, 100);
      const submit = byTestId('task-submit');
      submit.disabled = true;
      try {
        const t = await rpc('task.create', params);
        if (t && t.id) tasks.apply(t, 'task.created');
        textInput.value = '';
        toast(`Created ${t && t.id ? t.id : 'task'}`, 'ok');
      } catch (err) {
        toast(`Could not create the task: ${err.message}`, 'error');
      } finally {
        submit.disabled = false;
        textInput.focus();
      }
    });

    const board = byTestId('board');
    board.addEventListener('click', (ev) => {
      const btn = ev.target.closest('[data-action]');
      if (btn && btn.dataset.action === 'load-more') {
        loadMore(btn.dataset.status);
        return;
      }
      const card = btn && btn.closest('[data-testid="task-card"]');
      if (!card) return;
      const id = card.dataset.taskId;
      const t = tasks.byId.get(id);
      switch (btn.dataset.action) {
        case 'claim':
          cardAction(card, 'task.claimed', async () => {
            const res = await rpc('task.claim', { workerId: WORKER_ID, maxTasks: 1 });
            const got = (res && res.tasks) || [];
            for (const c of got) tasks.apply(c, 'task.claimed');
            if (!got.length) toast('Nothing to claim: the queue is empty.', 'info');
            else if (got[0].id !== id) toast(`Claimed ${got[0].id}, the head of the queue.`, 'info');
            else toast(`Claimed ${id} as “${WORKER_ID}”`, 'ok');
            return null;
          });
          break;
        case 'complete':
          cardAction(card, 'task.completed', () => rpc('task.complete', { id })).then((r) => r && toast(`Completed ${id}`, 'ok'));
          break;
        case 'fail':
          openFailForm(card);
          break;
        case 'attachments':
          atts.toggle(card, id);
          break;
        case 'fail-cancel':
          closeFailForm(card);
          break;
        case 'prio-down':
        case 'prio-up': {
          const step = (ev.shiftKey ? 10 : 1) * (btn.dataset.action === 'prio-up' ? 1 : -1);
          const cur = Number.parseInt($('.prio-input', card).value, 10);
          setPriority(card, (Number.isFinite(cur) ? cur : t ? t.priority : 50) + step, 500);
          break;
        }
      }
    });
    board.addEventListener('change', (ev) => {
      if (!ev.target.classList.contains('prio-input')) return;
      const card = ev.target.closest('[data-testid="task-card"]');
      const v = Number.parseInt(ev.target.value, 10);
      if (card && Number.isFinite(v)) setPriority(card, v, 0);
    });
    board.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && ev.target.closest('.fail-form')) closeFailForm(ev.target.closest('[data-testid="task-card"]'));
    });
  }


  // ------------------------------------------------------------ attachments

  // A task's attachments (its context: notes, files, links, results) are
  // read lazily with task.attachments, never with the lists: a card's count
  // badge once the card comes into view (the cards that came into view
  // together in one batch), its list when the card is opened. A
  // task.attached event (payload: the attachment; cbd announces the result
  // a completion keeps the same way) updates the copy; a reconnect reads
  // them again, for the cards in view or open only; opening a card reads
  // its list again.
  const ATT_BATCH = 50; // task.attachments calls per request
  const ATT_DELAY_MS = 100;
  const ATT_CACHE = 2000; // tasks whose attachments are kept
  const ATT_NOTE_CHARS = 20000; // what a card shows of one note
  const ATT_JSON_CHARS = 4000; // of one result or json value
  const ATT_ITEMS = 200; // of one files or links list

  const atts = {
    byId: new Map(), // task id -> its attachments, oldest first
    wanted: new Set(), // task ids to read in the next batch
    loading: new Set(), // task ids being read
    visible: new Set(), // ids of the cards in view
    open: new Set(), // ids of the cards whose list is open
    timer: 0,
    observer: typeof IntersectionObserver === 'function'
      ? new IntersectionObserver((entries) => {
        for (const en of entries) {
          const id = en.target.dataset.taskId;
          if (en.isIntersecting) {
            atts.visible.add(id);
            if (!atts.byId.has(id) && !atts.loading.has(id)) atts.want(id);
          } else {
            atts.visible.delete(id);
          }
        }
      })
      : null,

    watch(card) {
      if (this.observer) this.observer.observe(card);
      else this.want(card.dataset.taskId);
    },

    unwatch(card, id) {
      if (this.observer) this.observer.unobserve(card);
      this.visible.delete(id);
      this.open.delete(id);
    },

    set(id, list) {
      this.byId.delete(id);
      this.byId.set(id, list);
      if (this.byId.size > ATT_CACHE) {
        for (const old of this.byId.keys()) {
          if (this.byId.size <= ATT_CACHE) break;
          if (!this.visible.has(old) && !this.open.has(old)) this.byId.delete(old);
        }
      }
      const c = tasks.cards.get(id);
      if (c) paintAttachments(c.el, id);
    },

    want(id) {
      this.wanted.add(id);
      if (!this.timer) this.timer = setTimeout(() => this.flush(), ATT_DELAY_MS);
    },

    invalidate(id) {
      if (this.visible.has(id) || this.open.has(id)) this.want(id);
      else this.byId.delete(id);
    },

    reload() {
      for (const id of [...this.byId.keys()]) this.invalidate(id);
    },

    onAttached(a) {
      const list = this.byId.get(a.taskId);
      if (!list) {
        if (this.visible.has(a.taskId) || this.open.has(a.taskId)) this.want(a.taskId);
        return;
      }
      const i = list.findIndex((x) => x.key === a.key);
      const next = list.slice();
      if (i >= 0) next[i] = a;
      else next.push(a);
      this.set(a.taskId, next);
    },

    async flush() {
      this.timer = 0;
      const ids = [...this.wanted];
      this.wanted.clear();
      for (const id of ids) this.loading.add(id);
      for (let i = 0; i < ids.length; i += ATT_BATCH) {
        const chunk = ids.slice(i, i + ATT_BATCH);
        let answers;
        try {
          answers = await rpcBatch(chunk.map((taskId) => ({ method: 'task.attachments', params: { taskId } })));
        } catch (err) {
          for (const id of chunk) this.loading.delete(id);
          for (const id of chunk) if (this.open.has(id)) paintAttachments(tasks.cards.get(id) && tasks.cards.get(id).el, id, err.message);
          continue;
        }
        answers.forEach((a, j) => {
          const id = chunk[j];
          this.loading.delete(id);
          if (a.result && Array.isArray(a.result.attachments)) this.set(id, a.result.attachments);
          else if (a.error && a.error.code === -32004) this.set(id, []); // deleted meanwhile
          else if (a.error && this.open.has(id)) paintAttachments(tasks.cards.get(id) && tasks.cards.get(id).el, id, a.error.message);
        });
      }
    },

    toggle(card, id) {
      if (this.open.has(id)) this.open.delete(id);
      else {
        this.open.add(id);
        this.want(id);
      }
      paintAttachments(card, id);
    },
  };

  // paintAttachments shows a card's count badge and, when the card is
  // open, its attachments (failed: why they could not be read). Every
  // value is put in as text or as a checked http(s) link, never as HTML.
  function paintAttachments(card, id, failed) {
    if (!card) return;
    const list = atts.byId.get(id);
    const open = atts.open.has(id);
    const badge = $('.att-badge', card);
    const n = list ? list.length : 0;
    badge.hidden = !open && n === 0;
    badge.setAttribute('aria-expanded', String(open));
    badge.dataset.count = String(n);
    badge.title = n ? `${n} attachment${n > 1 ? 's' : ''}: ${list.map((a) => a.key).join(', ')}` : 'no attachments';
    badge.setAttribute('aria-label', `${open ? 'Hide' : 'Show'} ${n} attachment${n === 1 ? '' : 's'}`);
    badge.replaceChildren(paperclip(), el('span', { class: 'att-count', 'data-testid': 'task-attachment-count' }, String(n)));
    const panel = $('.att-panel', card);
    panel.hidden = !open;
    if (!open) {
      panel.replaceChildren();
      return;
    }
    if (failed) panel.replaceChildren(el('p', { class: 'att-empty bad' }, `Could not read the attachments: ${failed}`));
    else if (!list) panel.replaceChildren(el('p', { class: 'att-empty' }, 'Loading…'));
    else if (!list.length) panel.replaceChildren(el('p', { class: 'att-empty' }, 'No attachments.'));
    else panel.replaceChildren(el('ul', { class: 'att-list' }, ...list.map(attachmentItem)));
  }

  function paperclip() {
    const s = svg('svg', { viewBox: '0 0 16 16', width: 12, height: 12, 'aria-hidden': 'true', class: 'att-icon' });
    s.append(svg('path', { d: 'M10.5 4.5v6.25a2.5 2.5 0 0 1-5 0V3.75a1.75 1.75 0 0 1 3.5 0v6.5a.75.75 0 0 1-1.5 0V4.5', fill: 'none', stroke: 'currentColor', 'stroke-width': '1.4', 'stroke-linecap': 'round' }));
    return s;
  }

  function attachmentItem(a) {
    const updated = parseTime(a.updatedAt);
    return el('li', { class: 'att-item', 'data-testid': 'attachment', dataset: { key: a.key, type: a.type } },
      el('div', { class: 'att-head' },
        el('code', { class: 'att-key' }, a.key),
        el('span', { class: `att-type att-type-${a.type}` }, a.type),
        a.createdBy ? el('span', { class: 'att-who', title: a.createdBy }, shortId(a.createdBy, 24)) : null,
        el('span', { class: 'spacer' }),
        el('time', { class: 'att-when', datetime: a.updatedAt || '', title: `created ${a.createdAt || '?'}\nupdated ${a.updatedAt || '?'}` }, updated ? ago(Date.now() - updated) : '')),
      attachmentValue(a));
  }

  function attachmentValue(a) {
    const v = a.value;
    if (a.type === 'note' && typeof v === 'string') {
      return el('p', { class: 'att-note', 'data-testid': 'attachment-note' }, truncate(v, ATT_NOTE_CHARS));
    }
    if ((a.type === 'files' || a.type === 'links') && Array.isArray(v)) {
      const items = v.slice(0, ATT_ITEMS).map((x) => el('li', {}, a.type === 'links' ? linkNode(String(x)) : el('code', {}, truncate(String(x), 500))));
      if (v.length > ATT_ITEMS) items.push(el('li', { class: 'muted' }, `… and ${v.length - ATT_ITEMS} more`));
      return el('ul', { class: `att-items att-${a.type}`, 'data-testid': `attachment-${a.type}` }, ...items);
    }
    let text;
    try {
      text = JSON.stringify(v, null, 2);
    } catch (_) {
      text = String(v);
    }
    return el('pre', { class: 'att-json', 'data-testid': 'attachment-json' }, truncate(text === undefined ? 'null' : text, ATT_JSON_CHARS));
  }

  // linkNode is a link only for an http or https URL (a javascript: or
  // data: URL stays text), opened in a new tab without access to this page.
  function linkNode(s) {
    let href = '';
    try {
      const u = new URL(s);
      if (u.protocol === 'http:' || u.protocol === 'https:') href = u.href;
    } catch (_) {
      // not a URL: shown as text
    }
    const text = truncate(s, 500);
    if (!href) return el('span', { class: 'att-url' }, text);
    return el('a', { href, rel: 'noopener noreferrer', target: '_blank', title: s }, text);
  }

  // -------------------------------------------------------------- instances

  const health = { fetchedAt: 0, instances: [] };

  async function loadHealth() {
    let h;
    try {
      h = await rpc('system.health');
    } catch (err) {
      setPill('sys-status', 'unhealthy', 'system ?', err.message);
      byTestId('instances-meta').textContent = `system.health failed: ${err.message}`;
      return;
    }
    health.fetchedAt = Date.now();
    health.instances = Array.isArray(h.instances) ? h.instances : [];
    setPill('sys-status', h.status || 'unknown', h.status || 'unknown', 'Overall health');
    const r = h.redis || {};
    setPill('redis-status', r.status === 'ok' ? 'healthy' : r.status ? 'unhealthy' : 'unknown', `redis${r.mode ? ' · ' + r.mode : ''}`, `Redis: ${r.status || '?'}`);
    const s = h.store || {};
    setPill('store-status', s.status === 'ok' ? 'healthy' : s.status ? 'unhealthy' : 'unknown', `store${s.kind ? ' · ' + s.kind : ''}`, `Store: ${s.status || '?'}`);
    renderInstances();
  }

  function instanceAge(inst) {
    const base = typeof inst.ageMs === 'number' ? inst.ageMs : health.fetchedAt - parseTime(inst.lastSeen);
    return base + (Date.now() - health.fetchedAt);
  }

  function renderInstances() {
    const list = byTestId('instance-list');
    const rows = [];
    const sorted = [...health.instances].sort((a, b) => String(a.id).localeCompare(String(b.id)));
    for (const inst of sorted) {
      const roles = Array.isArray(inst.roles) && inst.roles.length ? inst.roles : ['all'];
      const md = inst.metadata || {};
      rows.push(el('li', { class: 'instance', 'data-testid': 'instance-row', dataset: { instanceId: inst.id, health: inst.health || 'unknown' } },
        el('span', { class: 'health-dot', title: inst.health || 'unknown' }),
        el('div', { class: 'instance-main' },
          el('div', { class: 'instance-id' }, inst.id, md.version ? el('span', { class: 'muted small' }, ` ${/^\d/.test(md.version) ? 'v' : ''}${md.version}`) : null),
          el('div', { class: 'roles' }, ...roles.map((r) => el('span', { class: 'chip' }, r)))),
        el('div', { class: 'instance-side' },
          el('span', { class: `health-label h-${inst.health || 'unknown'}` }, inst.health || 'unknown'),
          el('span', { class: 'instance-age', 'data-testid': 'instance-age', title: `last heartbeat ${inst.lastSeen || '?'}` }, ago(instanceAge(inst))))));
    }
    list.replaceChildren(...rows);
    byTestId('instance-empty').hidden = rows.length > 0;
    const counts = {};
    for (const i of health.instances) counts[i.health] = (counts[i.health] || 0) + 1;
    byTestId('instances-meta').textContent = rows.length
      ? Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(' · ')
      : '';
  }

  function tickAges() {
    const rows = byTestId('instance-list').children;
    const sorted = [...health.instances].sort((a, b) => String(a.id).localeCompare(String(b.id)));
    for (let i = 0; i < rows.length && i < sorted.length; i++) {
      const age = $('.instance-age', rows[i]);
      if (age) age.textContent = ago(instanceAge(sorted[i]));
    }
  }

  // ---------------------------------------------------------------- metrics

  const metrics = { samples: [] };

  async function sampleMetrics() {
    let m;
    try {
      m = await rpc('system.metrics');
    } catch (err) {
      byTestId('metrics-meta').textContent = `system.metrics failed: ${err.message}`;
      return;
    }
    metrics.samples.push({ t: Date.now(), m });
    if (metrics.samples.length > METRIC_SAMPLES + 1) metrics.samples.shift();
    renderMetrics();
  }

  // series derives, between consecutive samples, calls/s and the average
  // latency of the calls made in that interval, per method and in total.
  function series() {
    const s = metrics.samples;
    const out = { total: { rate: [], lat: [] }, queue: [], events: [], methods: new Map() };
    for (let i = 1; i < s.length; i++) {
      const a = s[i - 1];
      const b = s[i];
      const dt = (b.t - a.t) / 1000;
      const ha = a.m.handlers || {};
      const hb = b.m.handlers || {};
      let calls = 0;
      let latSum = 0;
      let reset = false;
      for (const [name, cur] of Object.entries(hb)) {
        const prev = ha[name] || { calls: 0, avgLatencyMs: 0 };
        const dc = (cur.calls || 0) - (prev.calls || 0);
        let ser = out.methods.get(name);
        if (!ser) out.methods.set(name, (ser = { rate: new Array(i - 1).fill(null), lat: new Array(i - 1).fill(null) }));
        if (dc < 0 || dt <= 0) {
          reset = true;
          ser.rate.push(null);
          ser.lat.push(null);
          continue;
        }
        const dl = (cur.avgLatencyMs || 0) * (cur.calls || 0) - (prev.avgLatencyMs || 0) * (prev.calls || 0);
        ser.rate.push(dc / dt);
        ser.lat.push(dc > 0 ? Math.max(0, dl / dc) : null);
        calls += dc;
        latSum += Math.max(0, dl);
      }
      for (const [, ser] of out.methods) {
        while (ser.rate.length < i) {
          ser.rate.push(null);
          ser.lat.push(null);
        }
      }
      out.total.rate.push(reset || dt <= 0 ? null : calls / dt);
      out.total.lat.push(calls > 0 ? latSum / calls : null);
      const de = (b.m.eventsProcessed || 0) - (a.m.eventsProcessed || 0);
      out.events.push(de >= 0 && dt > 0 ? de / dt : null);
    }
    for (const x of s.slice(1)) out.queue.push(x.m.queueDepth);
    return out;
  }

  function lastNum(arr) {
    for (let i = arr.length - 1; i >= 0; i--) if (typeof arr[i] === 'number') return arr[i];
    return null;
  }

  function sparkline(values, kind) {
    const w = 120;
    const h = 28;
    const n = Math.max(values.length, 2);
    const nums = values.filter((v) => typeof v === 'number');
    const max = Math.max(...nums, kind === 'lat' ? 0.01 : 1) * 1.1;
    const x = (i) => (w * (i + (n - values.length))) / (n - 1);
    const y = (v) => h - 2 - ((h - 4) * v) / max;
    const root = svg('svg', { class: `spark spark-${kind}`, viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: 'none', 'aria-hidden': 'true' });
    root.append(svg('line', { class: 'spark-base', x1: 0, y1: h - 1.5, x2: w, y2: h - 1.5 }));
    let line = '';
    let area = '';
    let seg = [];
    const flush = () => {
      if (!seg.length) return;
      if (seg.length === 1) {
        // A lone sample between gaps: a short dash, not an invisible point.
        const [i, v] = seg[0];
        line += `M${Math.max(0, x(i) - 3).toFixed(1)},${y(v).toFixed(1)}h6`;
        seg = [];
        return;
      }
      line += seg.map(([i, v], k) => `${k ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join('');
      const first = seg[0][0];
      const last = seg[seg.length - 1][0];
      area += `M${x(first).toFixed(1)},${h}` + seg.map(([i, v]) => `L${x(i).toFixed(1)},${y(v).toFixed(1)}`).join('') + `L${x(last).toFixed(1)},${h}Z`;
      seg = [];
    };
    values.forEach((v, i) => (typeof v === 'number' ? seg.push([i, v]) : flush()));
    flush();
    if (area) root.append(svg('path', { class: 'spark-area', d: area }));
    if (line) root.append(svg('path', { class: 'spark-line', d: line, 'vector-effect': 'non-scaling-stroke' }));
    const li = values.length - 1;
    if (li >= 0 && typeof values[li] === 'number') root.append(svg('circle', { class: 'spark-dot', cx: x(li).toFixed(1), cy: y(values[li]).toFixed(1), r: 2 }));
    return root;
  }

  function renderMetrics() {
    const latest = metrics.samples[metrics.samples.length - 1].m;
    const ser = series();
    byTestId('kpi-rate').textContent = fmtNum(lastNum(ser.total.rate), 1);
    byTestId('kpi-latency').textContent = fmtMs(lastNum(ser.total.lat));
    byTestId('kpi-queue').textContent = fmtNum(latest.queueDepth);
    byTestId('kpi-events').textContent = fmtNum(latest.eventsProcessed);
    document.getElementById('kpi-rate-spark').replaceChildren(sparkline(ser.total.rate, 'rate'));
    document.getElementById('kpi-latency-spark').replaceChildren(sparkline(ser.total.lat, 'lat'));
    document.getElementById('kpi-queue-spark').replaceChildren(sparkline(ser.queue, 'queue'));
    document.getElementById('kpi-events-spark').replaceChildren(sparkline(ser.events, 'rate'));

    const handlers = latest.handlers || {};
    const names = Object.keys(handlers).filter((n) => (handlers[n].calls || 0) > 0);
    const recent = (n) => {
      const r = ser.methods.get(n);
      return r ? r.rate.slice(-5).reduce((acc, v) => acc + (v || 0), 0) : 0;
    };
    names.sort((a, b) => recent(b) - recent(a) || handlers[b].calls - handlers[a].calls || a.localeCompare(b));
    const rows = names.map((name) => {
      const h = handlers[name];
      const s = ser.methods.get(name) || { rate: [], lat: [] };
      const errs = h.errors || 0;
      const errTitle = `errors ${errs} · timeouts ${h.timeouts || 0} · rate limited ${h.rateLimited || 0} · circuit open ${h.circuitOpen || 0}`;
      return el('tr', { 'data-testid': 'metric-row', dataset: { method: name } },
        el('th', { scope: 'row', class: 'method', title: `${h.calls} calls · max ${fmtMs(h.maxLatencyMs)}` }, name),
        el('td', { class: 'num spark-cell' }, sparkline(s.rate, 'rate'), el('span', {}, fmtNum(lastNum(s.rate) || 0, 1))),
        el('td', { class: 'num spark-cell' }, sparkline(s.lat, 'lat'), el('span', {}, fmtMs(h.avgLatencyMs))),
        el('td', { class: `num${errs ? ' bad' : ' muted'}`, title: errTitle }, String(errs)));
    });
    byTestId('metric-rows').replaceChildren(...rows);
    byTestId('metric-empty').hidden = rows.length > 0;
    byTestId('metric-empty').textContent = metrics.samples.length < 2 ? 'Sampling…' : 'No handler has been called yet.';
    const span = metrics.samples.length > 1 ? Math.round((metrics.samples[metrics.samples.length - 1].t - metrics.samples[0].t) / 1000) : 0;
    byTestId('metrics-meta').textContent = span ? `last ${span} s · every ${METRICS_MS / 1000} s` : '';
  }

  // ------------------------------------------------------------------ hooks

  const hooks = {
    audit: null, // null: not asked yet; true: audit.list works; false: not served
    records: [], // newest first
    denials: [], // newest first
    toolCalls: new Map(), // fallback: tool -> hook.pre_tool events seen
    renderTimer: 0,

    onHookEvent(e) {
      const p = e.payload;
      if (!p || typeof p !== 'object') return;
      if (this.audit === false && e.type === 'hook.pre_tool' && p.tool_name) {
        this.toolCalls.set(p.tool_name, (this.toolCalls.get(p.tool_name) || 0) + 1);
        this.queueRender();
      } else if (this.audit === true && e.type === 'hook.decision' && p.id) {
        // A decision the audit log just recorded: no need to wait for a reload.
        if (this.records.some((r) => r.id === p.id)) return;
        this.records.unshift(p);
        if (this.records.length > AUDIT_RECORDS) this.records.pop();
        if (p.decision === 'deny') this.denials = [p, ...this.denials].slice(0, DENIALS);
        this.queueRender();
      }
    },

    queueRender() {
      if (this.renderTimer) return;
      this.renderTimer = setTimeout(() => {
        this.renderTimer = 0;
        renderHooks();
      }, 250);
    },
  };

  async function loadAudit() {
    let answers;
    try {
      answers = await rpcBatch([
        { method: 'audit.list', params: { limit: AUDIT_RECORDS } },
        { method: 'audit.list', params: { decision: 'deny', limit: DENIALS } },
      ]);
    } catch (err) {
      byTestId('hooks-meta').textContent = `audit.list failed: ${err.message}`;
      return;
    }
    const failed = answers.find((a) => a.error);
    if (failed) {
      if (failed.error.code === -32601) {
        // No audit log on this server: count the hook events instead.
        if (hooks.audit !== false) {
          hooks.audit = false;
          renderHooks();
        }
      } else {
        byTestId('hooks-meta').textContent = `audit.list failed: ${failed.error.message}`;
      }
      return;
    }
    const list = (a) => (a.result && Array.isArray(a.result.records) ? a.result.records : []);
    hooks.audit = true;
    hooks.records = list(answers[0]);
    hooks.denials = list(answers[1]);
    renderHooks();
  }

  function decisionBar(parts) {
    const total = parts.reduce((a, p) => a + p[1], 0) || 1;
    const root = svg('svg', { class: 'dbar', viewBox: '0 0 100 8', preserveAspectRatio: 'none', 'aria-hidden': 'true' });
    let x = 0;
    for (const [cls, n] of parts) {
      if (!n) continue;
      const w = (100 * n) / total;
      root.append(svg('rect', { class: cls, x: x.toFixed(2), y: 0, width: w.toFixed(2), height: 8 }));
      x += w;
    }
    return root;
  }

  function renderHooks() {
    const head = document.getElementById('decision-head');
    const body = byTestId('decision-rows');
    const denials = byTestId('denials');
    const rows = [];
    if (hooks.audit === false) {
      head.replaceChildren(el('tr', {}, el('th', { scope: 'col' }, 'tool'), el('th', { scope: 'col', class: 'num' }, 'calls'), el('th', { scope: 'col', class: 'bar-col' }, el('span', { class: 'sr-only' }, 'share'))));
      const max = Math.max(1, ...hooks.toolCalls.values());
      const sorted = [...hooks.toolCalls].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
      for (const [tool, n] of sorted) {
        rows.push(el('tr', { 'data-testid': 'decision-row', dataset: { tool } },
          el('th', { scope: 'row' }, tool), el('td', { class: 'num' }, String(n)),
          el('td', { class: 'bar-col' }, decisionBar([['d-calls', n], ['d-rest', max - n]]))));
      }
      denials.hidden = true;
      byTestId('hooks-meta').textContent = 'pre_tool calls since page load (no audit log)';
    } else {
      head.replaceChildren(el('tr', {}, el('th', { scope: 'col' }, 'tool'),
        el('th', { scope: 'col', class: 'num d-allow' }, 'allow'), el('th', { scope: 'col', class: 'num d-ask' }, 'ask'),
        el('th', { scope: 'col', class: 'num d-deny' }, 'deny'), el('th', { scope: 'col', class: 'num d-none', title: 'no opinion' }, 'none'),
        el('th', { scope: 'col', class: 'bar-col' }, el('span', { class: 'sr-only' }, 'share'))));
      const per = new Map();
      for (const r of hooks.records) {
        const tool = r.tool || (r.event ? r.event.replace(/^hook\./, '') : '?');
        let c = per.get(tool);
        if (!c) per.set(tool, (c = { allow: 0, ask: 0, deny: 0, none: 0 }));
        c[r.decision === 'allow' || r.decision === 'ask' || r.decision === 'deny' ? r.decision : 'none']++;
      }
      const sorted = [...per].sort((a, b) => (b[1].deny - a[1].deny) || (b[1].ask - a[1].ask) || a[0].localeCompare(b[0]));
      for (const [tool, c] of sorted) {
        rows.push(el('tr', { 'data-testid': 'decision-row', dataset: { tool } },
          el('th', { scope: 'row' }, tool),
          el('td', { class: `num${c.allow ? '' : ' muted'}` }, String(c.allow)),
          el('td', { class: `num${c.ask ? ' warn' : ' muted'}` }, String(c.ask)),
          el('td', { class: `num${c.deny ? ' bad' : ' muted'}` }, String(c.deny)),
          el('td', { class: 'num muted' }, String(c.none)),
          el('td', { class: 'bar-col' }, decisionBar([['d-allow', c.allow], ['d-ask', c.ask], ['d-deny', c.deny], ['d-none', c.none]]))));
      }
      const denied = hooks.denials;
      byTestId('denial-list').replaceChildren(...denied.map((r) => el('li', { class: 'denial', 'data-testid': 'denial-row', dataset: { recordId: r.id || '' } },
        el('div', { class: 'denial-top' },
          el('span', { class: 'denial-tool' }, r.tool || r.event || '?'),
          ...(r.ruleIds || []).map((id) => el('code', { class: 'chip chip-bad', 'data-testid': 'denial-rule' }, id)),
          el('time', { class: 'muted small', title: String(r.time || '') }, r.time ? ago(Date.now() - parseTime(r.time)) : '')),
        el('p', { class: 'denial-reason' }, r.reason || '(no reason)'),
        r.sessionId ? el('p', { class: 'muted small' }, `session ${shortId(r.sessionId, 12)}`) : null)));
      byTestId('denial-empty').hidden = denied.length > 0;
      denials.hidden = hooks.audit !== true;
      byTestId('hooks-meta').textContent = hooks.audit ? `last ${hooks.records.length} audited hook calls` : '';
    }
    body.replaceChildren(...rows);
    byTestId('decision-empty').hidden = rows.length > 0;
  }

  // ------------------------------------------------------------------- main

  function every(ms, fn) {
    fn();
    return setInterval(fn, ms);
  }

  function start() {
    setupEvents();
    setupTasks();
    renderHooks();
    connect();
    every(TASK_REFRESH_MS, loadTasks);
    every(HEALTH_MS, loadHealth);
    every(METRICS_MS, sampleMetrics);
    every(AUDIT_MS, () => {
      if (hooks.audit !== false) loadAudit();
    });
    setInterval(() => {
      if (hooks.audit === false) loadAudit();
    }, AUDIT_RETRY_MS);
    setInterval(tickAges, 1000);
    setInterval(() => document.querySelectorAll('.card-age').forEach(refreshAge), 15000);
  }

  // Nothing may escape as an uncaught rejection: errors are shown, not thrown.
  window.addEventListener('unhandledrejection', (ev) => {
    ev.preventDefault();
    toast(String(ev.reason && ev.reason.message ? ev.reason.message : ev.reason), 'error');
  });

  start();
})();
