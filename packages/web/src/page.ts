/** The page shell. It holds no captured data: everything arrives as JSON and is set as textContent. */
export const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>agenttap</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header class="bar">
  <span class="brand">agenttap</span>
  <span id="live" class="live off" title="live updates">● connecting</span>
  <span id="count" class="count"></span>
  <input id="q" type="search" placeholder="search flows, sessions, models, prompts  ( / ) · Enter: search inside bodies" title="/ search · Enter search inside request and response bodies · j k move · 1-4 tabs · Esc close" autocomplete="off" spellcheck="false">
  <select id="f-session" title="session"><option value="">all sessions</option></select>
  <select id="f-client" title="client"><option value="">all clients</option></select>
  <select id="f-outcome" title="outcome"><option value="">any outcome</option></select>
  <span id="problems" class="problems" hidden></span>
</header>
<main id="main">
  <section id="list" class="list">
    <table class="flows">
      <thead><tr>
        <th>time</th><th>client</th><th>session</th><th>model</th><th>status</th>
        <th class="num">TTFB</th><th class="num">duration</th><th class="num">tokens in / out</th><th class="num c-cache">cache r / w</th><th class="num c-tools">tools</th><th>prompt</th>
      </tr></thead>
      <tbody id="rows"></tbody>
    </table>
    <div id="list-note" class="note"></div>
  </section>
  <section id="detail" class="detail" hidden>
    <div class="detail-head">
      <span id="detail-title" class="detail-title"></span>
      <button id="detail-close" class="close" title="close (Esc)">×</button>
    </div>
    <nav id="tabs" class="tabs">
      <button class="tab" data-tab="conversation">Conversation</button>
      <button class="tab" data-tab="events">Events</button>
      <button class="tab" data-tab="request">Request</button>
      <button class="tab" data-tab="session">Session</button>
    </nav>
    <div id="pane" class="pane"></div>
  </section>
</main>
</body>
</html>
`

/** Styles of the page (dark, dense, monospace where content is code-like). */
export const APP_CSS = `
:root { --bg:#111418; --bg2:#181c22; --bg3:#222831; --fg:#d8dee9; --dim:#7b8494; --acc:#5fb3f9; --ok:#7fd18b; --warn:#e5c07b; --err:#ef6b73; --think:#a3a9c2; --tool:#56c2d6; --cmd:#9ee493; --line:#2b313b; }
* { box-sizing: border-box; }
html, body { margin:0; height:100%; background:var(--bg); color:var(--fg); font:13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
.bar { display:flex; gap:8px; align-items:center; padding:6px 10px; background:var(--bg2); border-bottom:1px solid var(--line); position:sticky; top:0; z-index:2; flex-wrap:wrap; }
.brand { font-weight:700; letter-spacing:.5px; color:var(--acc); }
.live { font-size:12px; } .live.on { color:var(--ok); } .live.off { color:var(--err); }
.count { color:var(--dim); font-size:12px; min-width:120px; }
.bar input, .bar select { background:var(--bg3); color:var(--fg); border:1px solid var(--line); border-radius:4px; padding:3px 6px; font:inherit; }
.bar input { flex:1; min-width:200px; }
.bar select { max-width:220px; }
.problems { color:var(--warn); font-size:12px; cursor:help; }
main { display:flex; height:calc(100% - 42px); }
.list { flex:1 1 55%; overflow:auto; min-width:0; }
.detail { flex:1 1 45%; border-left:1px solid var(--line); display:flex; flex-direction:column; min-width:0; background:var(--bg); }
.detail[hidden] { display:none; }
table { border-collapse:collapse; width:100%; }
.flows th { position:sticky; top:0; background:var(--bg2); text-align:left; font-weight:600; color:var(--dim); font-size:12px; padding:4px 6px; border-bottom:1px solid var(--line); white-space:nowrap; }
.flows td { padding:3px 6px; border-bottom:1px solid #1c2027; white-space:nowrap; overflow:hidden; text-overflow:ellipsis; max-width:260px; font-size:12px; }
.flows tr.flow-row { cursor:pointer; } .flows tr.flow-row:hover { background:#1a2029; } .flows tr.selected { background:#1d2a3a; }
.num { text-align:right; font-variant-numeric:tabular-nums; }
.mono, .flows td.mono { font-family:ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.badge { display:inline-block; padding:0 5px; border-radius:3px; font-size:11px; background:var(--bg3); }
.b-alert { color:var(--err); margin-left:4px; cursor:help; }
.timeline svg { max-width:100%; height:auto; background:var(--bg2, transparent); }
.b-streaming { color:var(--acc); } .b-completed { color:var(--ok); } .b-error, .b-upstream_error, .b-dead { color:var(--err); } .b-aborted { color:var(--warn); }
.sess { color:var(--acc); cursor:pointer; text-decoration:underline dotted; }
.prompt { color:var(--dim); }
.list.narrow .c-cache, .list.narrow .c-tools { display:none; }
.list.narrow .flows td { max-width:180px; }
.note { color:var(--dim); padding:8px; font-size:12px; }
.detail-head { display:flex; align-items:center; gap:8px; padding:6px 10px; background:var(--bg2); border-bottom:1px solid var(--line); }
.detail-title { flex:1; font-family:ui-monospace, monospace; font-size:12px; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
.close { background:none; border:none; color:var(--dim); font-size:18px; cursor:pointer; }
.tabs { display:flex; gap:2px; padding:4px 8px 0; background:var(--bg2); border-bottom:1px solid var(--line); }
.tab { background:none; border:1px solid transparent; border-bottom:none; color:var(--dim); padding:5px 12px; cursor:pointer; font:inherit; border-radius:4px 4px 0 0; }
.tab.active { color:var(--fg); background:var(--bg); border-color:var(--line); }
.pane { flex:1; overflow:auto; padding:10px; }
.conv { font-family:ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:12.5px; white-space:pre-wrap; word-break:break-word; }
.conv .line { min-height:1.4em; }
.s-text { color:var(--fg); } .s-thinking { color:var(--think); font-style:italic; } .s-tool { color:var(--tool); }
.s-command { color:var(--cmd); font-weight:600; } .s-error { color:var(--err); } .s-meta { color:var(--warn); } .s-dim { color:var(--dim); }
.kv { display:grid; grid-template-columns:max-content 1fr; gap:2px 12px; font-size:12px; margin-bottom:10px; }
.kv .k { color:var(--dim); } .kv .v { font-family:ui-monospace, monospace; word-break:break-all; }
h3 { font-size:12px; text-transform:uppercase; letter-spacing:.6px; color:var(--dim); margin:14px 0 6px; }
pre { margin:0; white-space:pre-wrap; word-break:break-word; font:12px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background:var(--bg2); border:1px solid var(--line); border-radius:4px; padding:6px 8px; }
.msg { border-left:3px solid var(--line); padding:2px 0 2px 8px; margin:8px 0; }
.msg.role-user { border-color:var(--acc); } .msg.role-assistant { border-color:var(--ok); } .msg.role-tool { border-color:var(--tool); }
.role { font-size:11px; color:var(--dim); text-transform:uppercase; margin-bottom:3px; }
.part-title { font-size:11px; color:var(--tool); margin:4px 0 2px; font-family:ui-monospace, monospace; }
.part-thinking pre { color:var(--think); font-style:italic; }
details { margin:4px 0; } summary { cursor:pointer; color:var(--fg); }
button.more { background:var(--bg3); color:var(--fg); border:1px solid var(--line); border-radius:4px; padding:3px 10px; cursor:pointer; font:inherit; margin:6px 0; }
.events th { text-align:left; color:var(--dim); font-size:12px; font-weight:600; padding:3px 6px; border-bottom:1px solid var(--line); }
.events td { vertical-align:top; border-bottom:1px solid #1c2027; padding:3px 6px; font-size:12px; }
.events td.mono { white-space:nowrap; }
.events td.data { white-space:pre-wrap; word-break:break-all; font-family:ui-monospace, monospace; }
.finding { color:var(--err); }
.ok { color:var(--ok); }
.problem-list { color:var(--warn); font-size:12px; margin-bottom:8px; }
`
