// The simulator console: renders /console/api/state and follows /console/api/stream (Server-Sent Events).
// Every text from the store goes through textContent, never innerHTML: hostnames and tags are user input.

const ADMIN = "api/admin";
const CHART_SECONDS = 60;
const REQUESTS_KEPT = 5000;
const REQUEST_ROWS = 200;

const ui = {
  view: "summary",
  page: 1,
  q: "",
  ipsPage: 1,
  ipsQ: "",
  ipsAll: false,
  requestQ: "",
  /** @type {any} */
  state: null,
  /** @type {any[]} */
  requests: [],
  /** Service hash (base64 SHA-256 of namespace/name, ccm's service= tag) → "namespace/name". */
  services: new Map(),
};

const $ = (id) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`console page has no #${id}`);
  return el;
};

/** Builds an element: h("td", {class: "x"}, "text", child...). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function showError(message) {
  const el = $("error");
  el.textContent = message;
  el.hidden = !message;
}

// --- talking to the simulator ----------------------------------------------------------------------------

let pendingActions = 0;

/** Calls the admin API; `body.dataset.pending` counts the calls in flight (tests wait for 0). */
async function admin(method, path, body) {
  document.body.dataset.pending = String(++pendingActions);
  try {
    return await adminCall(method, path, body);
  } finally {
    document.body.dataset.pending = String(--pendingActions);
  }
}

async function adminCall(method, path, body) {
  const res = await fetch(`${ADMIN}${path}`, {
    method,
    headers: { "content-type": "application/json", "x-requested-by": "ccm-console" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) {
    const text = await res.text();
    let message = text;
    try {
      message = JSON.parse(text).errors.join("; ");
    } catch {
      // not JSON
    }
    showError(`${method} ${path}: ${res.status} ${message}`);
    return undefined;
  }
  showError("");
  refresh();
  return res.status === 204 ? null : await res.json();
}

let loading = false;
let again = false;

/** Fetches the state and renders it; calls while one is in flight are merged into one more. */
async function refresh() {
  if (loading) {
    again = true;
    return;
  }
  loading = true;
  try {
    const params = new URLSearchParams({ page: String(ui.page), ips_page: String(ui.ipsPage) });
    if (ui.q) params.set("q", ui.q);
    if (ui.ipsQ) params.set("ips_q", ui.ipsQ);
    if (ui.ipsAll) params.set("ips_all", "1");
    const res = await fetch(`api/state?${params}`);
    if (!res.ok) {
      showError(`GET api/state: ${res.status} ${await res.text()}`);
      return;
    }
    ui.state = await res.json();
    render();
  } catch (err) {
    showError(`GET api/state failed: ${err.message}`);
  } finally {
    loading = false;
    if (again) {
      again = false;
      refresh();
    }
  }
}

function connect() {
  const live = $("live");
  const events = new EventSource("api/stream");
  events.addEventListener("open", () => {
    live.textContent = "live";
    live.classList.add("on");
  });
  events.addEventListener("error", () => {
    live.textContent = "reconnecting…";
    live.classList.remove("on");
  });
  events.addEventListener("hello", () => refresh());
  events.addEventListener("changed", () => refresh());
  events.addEventListener("requests", (e) => {
    const entries = JSON.parse(e.data);
    ui.requests.push(...entries);
    if (ui.requests.length > REQUESTS_KEPT) ui.requests.splice(0, ui.requests.length - REQUESTS_KEPT);
    scheduleRequests();
  });
}

let requestsScheduled = false;
function scheduleRequests() {
  if (requestsScheduled) return;
  requestsScheduled = true;
  requestAnimationFrame(() => {
    requestsScheduled = false;
    renderRequests();
  });
}

// --- rendering ---------------------------------------------------------------------------------------------

function render() {
  const s = ui.state;
  if (!s) return;
  renderSummary(s);
  renderDevices(s);
  renderIps(s);
  renderBgp(s);
  renderLbs(s);
  renderFaults(s);
  document.body.dataset.generation = String(s.generation);
}

function stateBadge(state) {
  return h("span", { class: `state state-${state}` }, state);
}

function renderSummary(s) {
  const sum = s.summary;
  const byState = Object.entries(sum.devicesByState).map(([k, v]) => `${v} ${k}`).join(", ");
  const card = (n, label, detail, id) =>
    h("div", { class: "card" }, h("b", { id }, n), h("span", {}, label), detail);
  $("summary-cards").replaceChildren(
    card(sum.devices, "devices", byState ? h("div", { class: "muted" }, byState) : null),
    card(
      sum.userReservations,
      "IP reservations",
      h("div", { class: "muted" }, `${sum.reservations} with management blocks`),
    ),
    card(sum.assignments, "IP assignments"),
    card(sum.bgpSessions, "BGP sessions", h("div", { class: "muted" }, `${sum.bgpSessionsUp} up`)),
    card(
      sum.loadBalancers,
      "load balancers",
      h("div", { class: "muted" }, `${sum.lbPools} pools, ${sum.lbOrigins} origins`),
    ),
    card(ui.requests.length, "requests seen", null, "requests-seen"),
  );
  $("projects").replaceChildren(...s.projects.map((p) =>
    h(
      "tr",
      {},
      h("td", {}, p.name),
      h("td", { class: "mono" }, p.id),
      h("td", {}, p.devices),
      h("td", {}, p.bgpConfig ? `${p.bgpConfig.status} (ASN ${p.bgpConfig.asn})` : "not requested"),
    )
  ));
}

function goTo(view, setup) {
  setup();
  showView(view);
  refresh();
}

function renderDevices(s) {
  const d = s.devices;
  $("device-page").textContent = `page ${d.page} of ${d.pages} · ${d.matched} of ${d.total} devices`;
  $("device-prev").disabled = d.page <= 1;
  $("device-next").disabled = d.page >= d.pages;
  ui.page = d.page;
  $("devices").replaceChildren(...d.items.map((dev) => {
    const actions = [];
    if (dev.state === "active") {
      actions.push(h("button", {
        "data-action": "power-off",
        onclick: () => admin("PUT", `/devices/${dev.id}/state`, { state: "inactive" }),
      }, "Power off"));
    } else if (dev.state === "inactive" || dev.state === "failed") {
      actions.push(h("button", {
        "data-action": "power-on",
        onclick: () => admin("PUT", `/devices/${dev.id}/state`, { state: "active" }),
      }, "Power on"));
    }
    actions.push(h("button", {
      "data-action": "delete",
      onclick: () => {
        if (confirm(`Delete device ${dev.hostname}?`)) admin("DELETE", `/devices/${dev.id}`);
      },
    }, "Delete"));
    return h(
      "tr",
      { "data-device-id": dev.id, "data-hostname": dev.hostname, "data-state": dev.state },
      h("td", {}, h("b", {}, dev.hostname), h("div", { class: "mono muted" }, dev.id)),
      h("td", {}, stateBadge(dev.state)),
      h("td", {}, dev.plan),
      h("td", {}, `${dev.metro} / ${dev.facility}`),
      h(
        "td",
        { class: "mono" },
        dev.addresses.map((a) =>
          h(
            "div",
            {},
            h("a", {
              class: "link",
              title: "show its reservation",
              onclick: () =>
                goTo("ips", () => {
                  ui.ipsQ = a.address;
                  ui.ipsAll = a.management;
                  ui.ipsPage = 1;
                  $("ip-filter").value = a.address;
                  $("ip-all").checked = a.management;
                }),
            }, `${a.address}/${a.cidr}`),
            a.management ? "" : " (elastic)",
          )
        ),
      ),
      h("td", {}, dev.tags.map((t) => h("span", { class: "tag" }, t))),
      h(
        "td",
        {},
        dev.bgpSessions.map((b) => h("div", { class: b.status }, `${b.addressFamily} ${b.status}`)),
      ),
      h("td", {}, actions),
    );
  }));
}

function tagCell(d) {
  const out = [];
  if (d.usage !== undefined) {
    out.push(h("span", { class: "tag usage", title: "usage=" }, `usage: ${d.usage}`));
  }
  if (d.service !== undefined) {
    const name = ui.services.get(d.service);
    out.push(h(
      "span",
      { class: "tag service", title: `service=${d.service}` },
      name ? `Service ${name}` : `service hash ${d.service.slice(0, 12)}…`,
    ));
  }
  if (d.cluster !== undefined) {
    out.push(h("span", { class: "tag cluster", title: "cluster=" }, `cluster ${d.cluster}`));
  }
  return out;
}

function renderIps(s) {
  const r = s.reservations;
  $("ip-page").textContent = `page ${r.page} of ${r.pages} · ${r.matched} shown of ${r.total} reservations`;
  $("ip-prev").disabled = r.page <= 1;
  $("ip-next").disabled = r.page >= r.pages;
  ui.ipsPage = r.page;
  $("ips").replaceChildren(...r.items.map((ip) =>
    h(
      "tr",
      { "data-reservation-id": ip.id },
      h("td", { class: "mono" }, `${ip.network}/${ip.cidr}`, ip.state === "pending" ? " (pending)" : ""),
      h("td", {}, ip.type, ip.management ? h("div", { class: "muted" }, "management") : ""),
      h("td", {}, ip.metro ?? "global"),
      h("td", {}, tagCell(ip.decodedTags)),
      h("td", {}, ip.decodedTags.other.map((t) => h("span", { class: "tag" }, t))),
      h(
        "td",
        {},
        ip.assignments.length === 0 ? h("span", { class: "muted" }, "unassigned") : ip.assignments.map((a) =>
          h(
            "div",
            {},
            h("span", { class: "mono" }, `${a.address}/${a.cidr}`),
            " → ",
            h("a", {
              class: "link",
              "data-device-link": a.deviceId,
              onclick: () =>
                goTo("devices", () => {
                  ui.q = a.deviceId;
                  ui.page = 1;
                  $("device-filter").value = a.deviceId;
                }),
            }, a.hostname ?? a.deviceId),
          )
        ),
      ),
    )
  ));
  $("service-names").textContent = [...ui.services.values()].join(", ");
}

function renderBgp(s) {
  $("bgp-configs").replaceChildren(...s.projects.map((p) => {
    const c = p.bgpConfig;
    return h(
      "tr",
      {},
      h("td", {}, p.name),
      h("td", {}, c ? c.status : "not requested"),
      h("td", {}, c?.asn ?? ""),
      h("td", {}, c?.deployment_type ?? ""),
      h("td", {}, c ? (c.md5 ? "set" : "none") : ""),
      h("td", {}, c?.requested_at ?? ""),
    );
  }));
  const rows = [];
  for (const dev of s.devices.items) {
    for (const b of dev.bgpSessions) {
      rows.push(h(
        "tr",
        {},
        h("td", {}, dev.hostname),
        h("td", {}, b.addressFamily),
        h("td", { class: b.status }, b.status),
        h("td", { class: "mono" }, b.id),
      ));
    }
  }
  $("bgp-sessions").replaceChildren(
    ...(rows.length ? rows : [h("tr", {}, h("td", { colspan: 4, class: "muted" }, "no sessions"))]),
  );
}

function renderLbs(s) {
  if (s.loadBalancers.length === 0) {
    $("lbs").replaceChildren(h("p", { class: "muted" }, "No load balancers."));
    return;
  }
  $("lbs").replaceChildren(...s.loadBalancers.map((lb) =>
    h(
      "div",
      { class: "lb", "data-lb-id": lb.id },
      h("b", {}, lb.name),
      ` · ${lb.metro ?? "?"} · `,
      h("span", { class: "mono" }, lb.ips.join(", ") || "no IP yet"),
      h(
        "ul",
        {},
        lb.ports.map((port) =>
          h(
            "li",
            {},
            `port ${port.name} :${port.number}`,
            h(
              "ul",
              {},
              port.pools.map((pool) =>
                h(
                  "li",
                  {},
                  `pool ${pool.name} (${pool.protocol})`,
                  h(
                    "ul",
                    {},
                    pool.origins.map((o) =>
                      h(
                        "li",
                        { class: o.active ? "up" : "down" },
                        `origin ${o.name} → ${o.target}:${o.portNumber}${o.active ? "" : " (inactive)"}`,
                      )
                    ),
                  ),
                )
              ),
            ),
          )
        ),
      ),
    )
  ));
}

let faultFormTouched = false;
function renderFaults(s) {
  const f = s.faults;
  if (!faultFormTouched) {
    $("fault-latency").value = String(f.latencyMs);
    $("fault-error-rate").value = String(f.errorRate);
    $("fault-rate-limit").value = String(f.rateLimit);
  }
  $("scripted").replaceChildren(
    ...(f.scripted.length
      ? f.scripted.map((x) =>
        h(
          "tr",
          {},
          h("td", {}, x.method ?? "any"),
          h("td", { class: "mono" }, x.path),
          h("td", {}, x.status),
          h("td", {}, x.count),
          h("td", {}, x.retryAfter ?? ""),
        )
      )
      : [h("tr", {}, h("td", { colspan: 5, class: "muted" }, "none"))]),
  );
}

function statusClass(status) {
  if (status === 429) return "429";
  return `${Math.floor(status / 100)}xx`;
}

/** Status classes in stacking order (an array: an object would put the integer-like "429" first). */
const CHART_COLORS = [
  ["2xx", "#17803d"],
  ["3xx", "#667085"],
  ["4xx", "#b26b00"],
  ["429", "#7a3fb0"],
  ["5xx", "#c0262d"],
];

function renderChart(container) {
  const now = Math.floor(Date.now() / 1000);
  const buckets = new Map();
  for (let i = ui.requests.length - 1; i >= 0; i--) {
    const e = ui.requests[i];
    const second = Math.floor(Date.parse(e.time) / 1000);
    if (second <= now - CHART_SECONDS) break;
    const counts = buckets.get(second) ?? {};
    const cls = statusClass(e.status);
    counts[cls] = (counts[cls] ?? 0) + 1;
    buckets.set(second, counts);
  }
  let max = 1;
  for (const counts of buckets.values()) {
    max = Math.max(
      max,
      Object.values(counts).reduce((a, b) => a + b, 0),
    );
  }
  const width = 600;
  const height = 120;
  const barW = width / CHART_SECONDS;
  const bars = [];
  for (let i = 0; i < CHART_SECONDS; i++) {
    const second = now - CHART_SECONDS + 1 + i;
    const counts = buckets.get(second);
    if (!counts) continue;
    let y = height;
    for (const [cls, color] of CHART_COLORS) {
      const n = counts[cls] ?? 0;
      if (!n) continue;
      const barH = (n / max) * (height - 14);
      y -= barH;
      bars.push(svg("rect", {
        x: i * barW + 1,
        y,
        width: barW - 2,
        height: barH,
        fill: color,
        "data-status": cls,
      }, svg("title", {}, `${n} × ${cls}`)));
    }
  }
  const legend = CHART_COLORS.map(([cls, color], i) =>
    svg("text", { x: 4 + i * 48, y: 11, fill: color, "font-size": 11 }, cls)
  );
  const chart = svg(
    "svg",
    {
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": "requests per second by status",
    },
    ...legend,
    svg(
      "text",
      { x: width - 4, y: 11, "text-anchor": "end", "font-size": 11, fill: "#667085" },
      `max ${max}/s`,
    ),
    ...bars,
  );
  container.replaceChildren(chart);
}

function renderRequests() {
  const q = ui.requestQ;
  const rows = [];
  let matched = 0;
  for (let i = ui.requests.length - 1; i >= 0 && rows.length < REQUEST_ROWS; i--) {
    const e = ui.requests[i];
    const text = `${e.method} ${e.path}?${e.query} ${e.status} ${e.userAgent}`.toLowerCase();
    if (q && !text.includes(q)) continue;
    matched++;
    rows.push(h(
      "tr",
      { "data-seq": e.seq },
      h("td", { class: "mono" }, e.time.slice(11, 23)),
      h("td", {}, e.method),
      h("td", { class: "mono" }, e.query ? `${e.path}?${e.query}` : e.path),
      h("td", { class: `s${Math.floor(e.status / 100)} s${e.status}` }, e.status),
      h("td", {}, e.durationMs.toFixed(1)),
      h("td", { class: "muted" }, e.userAgent),
    ));
  }
  $("requests").replaceChildren(...rows);
  const seen = document.getElementById("requests-seen"); // absent until the first state arrives
  if (seen) seen.textContent = String(ui.requests.length);
  $("request-count").textContent = `${matched} shown (newest first) of ${ui.requests.length}`;
  renderChart($("chart-requests"));
  renderChart($("chart-summary"));
}

// --- controls ----------------------------------------------------------------------------------------------

function showView(view) {
  ui.view = view;
  for (const b of document.querySelectorAll("#tabs button")) {
    b.classList.toggle("active", b.dataset.view === view);
  }
  for (const s of document.querySelectorAll("section.view")) s.hidden = s.id !== `view-${view}`;
  history.replaceState(null, "", `#${view}`);
}

function debounce(f, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => f(...args), ms);
  };
}

async function serviceHash(name) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(name));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

async function addService(name) {
  const clean = name.trim();
  if (!/^[^/\s]+\/[^/\s]+$/.test(clean)) {
    showError(`Service "${clean}": write it as namespace/name, e.g. default/nginx`);
    return;
  }
  ui.services.set(await serviceHash(clean), clean);
  localStorage.setItem("ccm-console-services", JSON.stringify([...ui.services.values()]));
}

async function setup() {
  for (const b of document.querySelectorAll("#tabs button")) {
    b.addEventListener("click", () => showView(b.dataset.view));
  }
  const initial = location.hash.slice(1);
  if (document.getElementById(`view-${initial}`)) showView(initial);

  $("device-filter").addEventListener(
    "input",
    debounce((e) => {
      ui.q = e.target.value.trim();
      ui.page = 1;
      refresh();
    }, 150),
  );
  $("device-prev").addEventListener("click", () => {
    ui.page--;
    refresh();
  });
  $("device-next").addEventListener("click", () => {
    ui.page++;
    refresh();
  });
  $("ip-filter").addEventListener(
    "input",
    debounce((e) => {
      ui.ipsQ = e.target.value.trim();
      ui.ipsPage = 1;
      refresh();
    }, 150),
  );
  $("ip-all").addEventListener("change", (e) => {
    ui.ipsAll = e.target.checked;
    ui.ipsPage = 1;
    refresh();
  });
  $("ip-prev").addEventListener("click", () => {
    ui.ipsPage--;
    refresh();
  });
  $("ip-next").addEventListener("click", () => {
    ui.ipsPage++;
    refresh();
  });
  $("request-filter").addEventListener("input", (e) => {
    ui.requestQ = e.target.value.trim().toLowerCase();
    renderRequests();
  });
  $("service-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    await addService($("service-name").value);
    $("service-name").value = "";
    render();
  });

  for (const id of ["fault-latency", "fault-error-rate", "fault-rate-limit"]) {
    $(id).addEventListener("input", () => {
      faultFormTouched = true;
    });
  }
  $("fault-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = {
      latencyMs: Number($("fault-latency").value || 0),
      errorRate: Number($("fault-error-rate").value || 0),
      rateLimit: Number($("fault-rate-limit").value || 0),
    };
    if (await admin("PUT", "/faults", body)) faultFormTouched = false;
  });
  $("fault-clear").addEventListener("click", () => {
    faultFormTouched = false;
    admin("PUT", "/faults", { latencyMs: 0, errorRate: 0, rateLimit: 0 });
    admin("DELETE", "/faults/scripted");
  });
  $("scripted-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const body = {
      path: $("scripted-path").value.trim(),
      status: Number($("scripted-status").value),
      count: Number($("scripted-count").value),
    };
    const method = $("scripted-method").value.trim().toUpperCase();
    if (method) body.method = method;
    const retry = $("scripted-retry").value;
    if (retry !== "") body.retryAfter = Number(retry);
    admin("POST", "/faults/scripted", body);
  });
  $("scripted-clear").addEventListener("click", () => admin("DELETE", "/faults/scripted"));

  // Services named in the URL (?services=ns/a,ns/b, as `make demo` prints) or earlier in this browser.
  const named = new URLSearchParams(location.search).get("services")?.split(",") ?? [];
  let saved = [];
  try {
    saved = JSON.parse(localStorage.getItem("ccm-console-services") ?? "[]");
  } catch {
    // ignore a broken entry
  }
  for (const name of [...saved, ...named]) if (name) await addService(name);

  setInterval(scheduleRequests, 1000); // the chart scrolls even when nothing happens
  connect();
  await refresh();
  document.body.dataset.ready = "true";
}

setup().catch((err) => showError(`console failed to start: ${err.message}`));
