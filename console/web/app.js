"use strict";
// Rivulet console: polls the console's JSON API every two seconds and
// redraws each section. No framework, no outside assets.
const POLL_MS = 2000;
const HISTORY = 150; // samples of throughput kept (five minutes at 2s)
const history = {};  // app url -> [{t, processed}]
const svgCache = {}; // app index -> last topology drawing

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}
function num(n) { return el("td", {class: "num"}, n < 0 ? "?" : n.toLocaleString("en")); }
function bytes(n) {
  if (n < 0) return "?";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + u[i];
}
async function getJSON(path) {
  const r = await fetch(path, {cache: "no-store"});
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || ("HTTP " + r.status));
  return body;
}
function replace(id, ...nodes) { document.getElementById(id).replaceChildren(...nodes); }

async function refreshCluster() {
  const c = await getJSON("/api/cluster");
  replace("cluster", "cluster " + c.cluster_id + ", brokers " + c.brokers.map(b => b.host + ":" + b.port).join(", "));
  const rows = [];
  const select = document.getElementById("b-topic");
  const chosen = select.value;
  const options = [];
  for (const t of c.topics) {
    options.push(el("option", {}, t.name));
    t.partitions.forEach((p, i) => {
      const tr = el("tr", {"data-topic": t.name, "data-partition": p.partition});
      if (i === 0) {
        tr.append(el("td", {rowspan: t.partitions.length}, t.name, t.internal ? el("span", {class: "muted"}, " (internal)") : null));
      }
      tr.append(num(p.partition), num(p.leader), num(p.start), num(p.end), num(p.end - p.start), el("td", {class: "num"}, bytes(p.size)));
      if (i === 0) {
        const cfg = el("button", {class: "link", type: "button"}, "configs");
        cfg.onclick = () => showConfigs(t.name);
        const browse = el("button", {class: "link", type: "button"}, "messages");
        browse.onclick = () => { select.value = t.name; browseMessages(); location.hash = "#browser"; };
        tr.append(el("td", {rowspan: t.partitions.length}, cfg, " ", browse));
      }
      rows.push(tr);
    });
  }
  replace("topics-body", ...rows);
  select.replaceChildren(...options);
  if (chosen) select.value = chosen;
}

async function showConfigs(topic) {
  try {
    const c = await getJSON("/api/topics/" + encodeURIComponent(topic) + "/configs");
    const rows = c.configs.map(x => el("tr", {}, el("td", {}, x.name), el("td", {class: "value"}, x.sensitive ? "(sensitive)" : x.value), el("td", {class: "muted"}, x.source)));
    replace("configs", el("h3", {}, "Configs of " + topic),
      el("table", {class: "configs"}, el("thead", {}, el("tr", {}, el("th", {}, "Name"), el("th", {}, "Value"), el("th", {}, "Source"))), el("tbody", {}, ...rows)));
  } catch (e) {
    replace("configs", el("p", {class: "error"}, e.message));
  }
}

async function browseMessages(ev) {
  if (ev) ev.preventDefault();
  const q = new URLSearchParams();
  const v = id => document.getElementById(id).value;
  const topic = v("b-topic");
  if (!topic) return;
  q.set("partition", v("b-partition") || "0");
  if (v("b-offset") !== "") q.set("offset", v("b-offset"));
  q.set("limit", v("b-limit") || "20");
  q.set("key", v("b-key"));
  q.set("value", v("b-value"));
  try {
    const m = await getJSON("/api/topics/" + encodeURIComponent(topic) + "/messages?" + q);
    replace("messages-body", ...m.messages.map(r => el("tr", {},
      num(r.partition), num(r.offset), el("td", {}, r.timestamp),
      el("td", {class: "value"}, r.key === null ? "null" : r.key),
      el("td", {class: "value"}, r.value === null ? "null" : r.value),
      el("td", {class: "value"}, r.headers.map(h => h.key + ":" + h.value).join(", ")))));
    replace("browse-status", `${m.messages.length} records of ${topic}-${m.partition} (offsets ${m.start} to ${m.end})`);
  } catch (e) {
    replace("browse-status", el("span", {class: "error"}, e.message));
  }
}

async function refreshGroups() {
  const g = await getJSON("/api/groups");
  if (g.groups.length === 0) { replace("groups-body", el("p", {class: "muted"}, "No consumer groups.")); return; }
  const nodes = [];
  for (const grp of g.groups) {
    const box = el("div", {class: "group", "data-group": grp.group});
    box.append(el("h3", {}, grp.group, " ", el("span", {class: "state " + grp.state}, grp.state),
      el("span", {class: "muted"}, ` ${grp.members.length} members, protocol ${grp.protocol || "-"}, total lag `),
      el("span", {class: "lag total" + (grp.total_lag > 0 ? " behind" : ""), "data-group": grp.group}, String(grp.total_lag))));
    if (grp.error) box.append(el("p", {class: "error"}, grp.error));
    if (grp.members.length) {
      box.append(el("table", {class: "members"},
        el("thead", {}, el("tr", {}, el("th", {}, "Member"), el("th", {}, "Client id"), el("th", {}, "Host"), el("th", {}, "Assigned partitions"))),
        el("tbody", {}, ...grp.members.map(m => el("tr", {}, el("td", {}, m.member_id), el("td", {}, m.client_id), el("td", {}, m.client_host), el("td", {}, m.assigned.join(", ")))))));
    }
    if (grp.lag.length) {
      box.append(el("table", {class: "group-lag"},
        el("thead", {}, el("tr", {}, el("th", {}, "Topic"), el("th", {}, "Partition"), el("th", {}, "Committed"), el("th", {}, "End"), el("th", {}, "Lag"), el("th", {}, "Member"))),
        el("tbody", {}, ...grp.lag.map(l => el("tr", {}, el("td", {}, l.topic), num(l.partition), num(l.committed), num(l.end),
          el("td", {class: "num lag" + (l.lag > 0 ? " behind" : ""), "data-group": grp.group}, l.lag < 0 ? "?" : String(l.lag)), el("td", {}, l.member || "-"))))));
    }
    nodes.push(box);
  }
  replace("groups-body", ...nodes);
}

function sparkline(samples) {
  const w = 300, h = 40;
  const rates = [];
  for (let i = 1; i < samples.length; i++) {
    const dt = (samples[i].t - samples[i - 1].t) / 1000;
    rates.push(dt > 0 ? Math.max(0, (samples[i].processed - samples[i - 1].processed) / dt) : 0);
  }
  const maxRate = Math.max(1, ...rates);
  const pts = rates.map((r, i) => `${(i / Math.max(1, HISTORY - 1)) * w},${h - (r / maxRate) * (h - 2) - 1}`).join(" ");
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "spark"); svg.setAttribute("width", w); svg.setAttribute("height", h);
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", pts); line.setAttribute("fill", "none"); line.setAttribute("stroke", "#0969da");
  svg.append(line);
  const last = rates.length ? rates[rates.length - 1] : 0;
  return el("span", {}, svg, ` ${last.toFixed(1)} records/s now, peak ${maxRate.toFixed(1)}/s`);
}

function taskRows(inst, kind, tasks) {
  return tasks.map(t => el("tr", {"data-task": t.id},
    el("td", {}, inst.endpoint || "(no application.server)", inst.local ? " (this one)" : ""),
    el("td", {}, (t.threads || []).join(", ") || "-"),
    el("td", {}, kind), el("td", {}, t.id),
    el("td", {class: "state " + (t.state || "")}, t.state || "-"),
    el("td", {}, (t.partitions || []).join(", ") || "-"),
    el("td", {class: "num lag" + (t.input_lag > 0 ? " behind" : "")}, t.input_lag < 0 ? "?" : String(t.input_lag)),
    el("td", {class: "num lag" + (t.changelog_lag > 0 ? " behind" : "")}, t.changelog_lag < 0 ? "?" : String(t.changelog_lag))));
}

async function refreshApps() {
  const a = await getJSON("/api/apps");
  if (a.apps.length === 0) return;
  const boxes = [];
  for (let i = 0; i < a.apps.length; i++) {
    const app = a.apps[i];
    const box = el("div", {class: "app", "data-app": app.url});
    const st = app.status, topo = app.topology;
    box.append(el("h3", {}, st ? st.application_id : app.url, " ", st ? el("span", {class: "state " + st.state}, st.state) : null, el("span", {class: "muted"}, " " + app.url)));
    if (app.error) box.append(el("p", {class: "error"}, app.error));
    if (topo) {
      let processed = 0;
      for (const sub of topo.subtopologies) for (const n of sub.nodes) if (n.kind === "Source" && topo.counts[n.name]) processed += topo.counts[n.name].processed;
      const h = history[app.url] = history[app.url] || [];
      h.push({t: Date.now(), processed});
      if (h.length > HISTORY) h.shift();
      box.append(el("p", {}, "Throughput (records into sources): ",
        Object.keys(topo.counts).length ? sparkline(h) : el("span", {class: "muted"}, "per-node counts need metrics.recording.level=DEBUG")));
    }
    const graph = el("div", {class: "graph", id: "graph-" + i}, el("span", {class: "muted"}, "loading topology..."));
    if (svgCache[i]) graph.innerHTML = svgCache[i];
    box.append(el("h4", {}, "Topology"), graph);
    fetch(`/api/apps/${i}/topology.svg`, {cache: "no-store"}).then(r => r.ok ? r.text() : Promise.reject(new Error("HTTP " + r.status)))
      .then(svg => { svgCache[i] = svg; const g = document.getElementById("graph-" + i); if (g) g.innerHTML = svg; })
      .catch(e => { const g = document.getElementById("graph-" + i); if (g) g.replaceChildren(el("span", {class: "error"}, e.message)); });
    if (st) {
      const rows = [];
      for (const inst of st.instances) {
        rows.push(...taskRows(inst, "active", inst.active), ...taskRows(inst, "standby", inst.standby));
      }
      box.append(el("h4", {}, "Tasks"), el("table", {class: "tasks"},
        el("thead", {}, el("tr", {}, ...["Instance", "Threads", "Kind", "Task", "State", "Input partitions", "Input lag", "Changelog lag"].map(x => el("th", {}, x)))),
        el("tbody", {}, ...rows)));
      if (st.restores.length) {
        box.append(el("h4", {}, "Restores"), el("table", {class: "restores"},
          el("thead", {}, el("tr", {}, ...["Task", "Store", "Changelog", "Progress", "Remaining", "Rate"].map(x => el("th", {}, x)))),
          el("tbody", {}, ...st.restores.map(r => {
            const total = Math.max(1, r.end_offset - r.start_offset);
            return el("tr", {}, el("td", {}, r.task), el("td", {}, r.store), el("td", {}, r.changelog),
              el("td", {}, el("progress", {max: total, value: total - r.remaining})), num(r.remaining), el("td", {class: "num"}, r.records_per_second.toFixed(0) + "/s"));
          }))));
      }
    }
    boxes.push(box);
  }
  replace("apps-body", ...boxes);
}

async function poll() {
  const results = await Promise.allSettled([refreshCluster(), refreshGroups(), refreshApps()]);
  const failed = results.filter(r => r.status === "rejected").map(r => r.reason.message);
  replace("updated", failed.length ? el("span", {class: "error"}, "update failed: " + failed.join("; ")) : "updated " + new Date().toLocaleTimeString());
  setTimeout(poll, POLL_MS);
}
document.getElementById("browse").addEventListener("submit", browseMessages);
poll();
