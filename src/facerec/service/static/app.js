// facerec's web page: plain JavaScript over the REST API, with the key kept in this tab's session storage.
"use strict";

const API = document.body.dataset.api || "/api/v1";
const $ = (id) => document.getElementById(id);
const state = { key: sessionStorage.getItem("facerec-key") || "", role: "", name: "", blobs: [], pending: "" };
const ROLES = ["read", "write", "admin"];

function can(role) { return ROLES.indexOf(state.role) >= ROLES.indexOf(role); }

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.error && body.error.code;
    this.body = body;
  }
}

async function api(path, { method = "GET", json, files, field = "file", raw = false } = {}) {
  const headers = { "X-API-Key": state.key };
  let body;
  if (json !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(json); }
  if (files) { body = new FormData(); for (const f of files) body.append(field, f, f.name); }
  const response = await fetch(API + path, { method, headers, body });
  if (raw && response.ok) return response;
  const data = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) {
    if (response.status === 401 && path !== "/me") signOut("Your key was refused: sign in again.");
    throw new ApiError(response.status, data);
  }
  return data;
}

function flash(text, bad = false) {
  const box = $("flash");
  box.textContent = text;
  box.className = bad ? "flash bad" : "flash";
  box.hidden = !text;
}

async function faceImage(faceId, alt) {
  const img = el("img", { alt, loading: "lazy" });
  if (faceId == null) return img;
  try {
    const response = await api(`/faces/${faceId}/crop`, { raw: true });
    const url = URL.createObjectURL(await response.blob());
    state.blobs.push(url);
    img.src = url;
  } catch (err) { /* no crop stored: keep the grey square */ }
  return img;
}

function releaseImages() { state.blobs.forEach((u) => URL.revokeObjectURL(u)); state.blobs = []; }

// -- file choosers with drag and drop ---------------------------------------------------------------------------
const chosen = {};
function chooser(name, multiple = true) {
  const drop = $(`${name}-drop`), input = $(`${name}-files`) || $(`${name}-file`), list = $(`${name}-chosen`);
  const show = () => { list.textContent = (chosen[name] || []).map((f) => f.name).join(", "); };
  input.addEventListener("change", () => { chosen[name] = Array.from(input.files); show(); });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault(); drop.classList.remove("over");
    const files = Array.from(e.dataTransfer.files).filter((f) => f.type.startsWith("image/") || !f.type);
    chosen[name] = multiple ? (chosen[name] || []).concat(files) : files.slice(0, 1);
    show();
  });
  return { files: () => chosen[name] || [], clear: () => { chosen[name] = []; input.value = ""; show(); } };
}

function outcomes(list, files) {
  list.replaceChildren(...files.map((f) => {
    const ok = f.status === "enrolled" || f.status === "unchanged";
    const name = f.file.replace(/^upload:/, "");
    return el("li", { class: ok ? "ok" : "bad", "data-status": f.status },
      `${ok ? "✓" : "✗"} ${name}: ${f.status.replace("_", " ")}${f.message ? " — " + f.message : ""}`);
  }));
}

async function enroll(name, files, list) {
  const result = await api(`/people/${encodeURIComponent(name)}/faces`, { method: "POST", files })
    .catch((err) => { if (err.body?.error?.files) return { files: err.body.error.files, failed: err }; throw err; });
  outcomes(list, result.files);
  if (result.failed) throw result.failed;
  return result;
}

// -- views --------------------------------------------------------------------------------------------------------
const views = ["signin", "people", "person", "recognise", "cluster", "keys"];
function show(view) {
  for (const v of views) $(`view-${v}`).hidden = v !== view;
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.dataset.view === view ||
    (view === "person" && a.dataset.view === "people")));
  document.querySelectorAll(".write-only").forEach((n) => { n.hidden = !can("write"); });
}

async function showPeople() {
  show("people");
  releaseImages();
  const q = $("people-search").value.trim();
  const page = await api(`/people?limit=500${q ? "&q=" + encodeURIComponent(q) : ""}`);
  $("people-total").textContent = `(${page.total})`;
  $("people-empty").hidden = page.total > 0 || Boolean(q);
  const cards = await Promise.all(page.people.map(async (p) => el("a",
    { class: "person", href: `#/person/${encodeURIComponent(p.name)}`, "data-name": p.name },
    await faceImage(p.thumbnail, p.name),
    el("div", { class: "label" }, el("span", { class: "name" }, p.name),
      el("span", { class: "count" }, `${p.samples} face${p.samples === 1 ? "" : "s"}`)))));
  $("people-grid").replaceChildren(...cards);
}

let current = null;
async function showPerson(name) {
  show("person");
  releaseImages();
  const data = await api(`/people/${encodeURIComponent(name)}/faces`);
  current = data.person;
  $("person-name").textContent = current.name;
  $("person-meta").textContent = `${current.samples} face${current.samples === 1 ? "" : "s"} · added ` +
    new Date(current.created).toLocaleDateString();
  $("rename-name").value = current.name;
  $("delete-confirm").hidden = true;
  $("delete-person").hidden = false;
  const tiles = await Promise.all(data.faces.map(async (f) => {
    const tile = el("div", { class: "face", "data-face": f.id }, await faceImage(f.has_crop ? f.id : null,
      f.source || `face ${f.id}`));
    if (can("write")) {
      tile.append(el("button", { type: "button", onclick: async () => {
        await api(`/faces/${f.id}`, { method: "DELETE" });
        flash(`Removed a face of ${current.name}.`);
        showPerson(current.name);
      } }, "Remove"));
    }
    return tile;
  }));
  $("person-faces").replaceChildren(...tiles);
  if (can("write")) {
    const everyone = await api("/people?limit=500");
    $("merge-target").replaceChildren(...everyone.people.filter((p) => p.name !== current.name)
      .map((p) => el("option", { value: p.name }, p.name)));
  }
}

function drawFaces(canvas, image, faces) {
  canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(image, 0, 0);
  const line = Math.max(2, Math.round(Math.max(canvas.width, canvas.height) / 300));
  const size = Math.max(14, Math.round(Math.max(canvas.width, canvas.height) / 40));
  faces.forEach((f, i) => {
    const b = f.box, colour = f.person_id == null ? "#e00000" : "#00a000";
    ctx.lineWidth = line; ctx.strokeStyle = colour;
    ctx.strokeRect(b.left, b.top, b.right - b.left, b.bottom - b.top);
    const text = `${i + 1} ${f.name}`;
    ctx.font = `${size}px sans-serif`;
    const w = ctx.measureText(text).width + 2 * line, h = size + 2 * line;
    const top = b.bottom + h <= canvas.height ? b.bottom : Math.max(0, b.top - h);
    ctx.fillStyle = colour; ctx.fillRect(b.left, top, Math.max(w, b.right - b.left), h);
    ctx.fillStyle = "#fff"; ctx.fillText(text, b.left + line, top + size);
  });
}

async function recognise(file) {
  const result = await api("/identify", { method: "POST", files: [file] });
  const faces = result.images[0].faces;
  const image = new Image();
  const url = URL.createObjectURL(file);
  await new Promise((ok, bad) => { image.onload = ok; image.onerror = bad; image.src = url; });
  drawFaces($("recognise-canvas"), image, faces);
  URL.revokeObjectURL(url);
  const rows = faces.map((f, i) => el("tr", { "data-name": f.name },
    el("td", {}, String(i + 1)),
    el("td", { class: f.person_id == null ? "unknown" : "known" }, f.name),
    el("td", {}, f.distance == null ? "–" : f.distance.toFixed(3)),
    el("td", {}, f.candidates.map((c) => `${c.name} ${c.distance.toFixed(3)}`).join(", ") || "–")));
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: "4" }, "No face found.")));
  $("recognise-table").tBodies[0].replaceChildren(...rows);
  $("recognise-result").hidden = false;
}

async function cluster(files) {
  const result = await api("/cluster", { method: "POST", files });
  const blocks = result.clusters.map((c) => {
    const input = el("input", { placeholder: "Name this person", "aria-label": `Name cluster ${c.label + 1}` });
    const status = el("span", { class: "hint" });
    const form = el("form", { class: "row wrap" }, input, el("button", { type: "submit" }, "Enroll"), status);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        const named = await api(`/clusters/${result.id}/${c.label}/name`, { method: "POST",
          json: { name: input.value } });
        status.textContent = `Enrolled ${named.sample_ids.length} face(s) as ${named.person.name}.`;
      } catch (err) { status.textContent = err.message; }
    });
    return el("div", { class: "cluster", "data-size": c.size },
      el("h2", {}, `Person ${c.label + 1} · ${c.size} face${c.size === 1 ? "" : "s"}`),
      el("div", { class: "strip" }, ...c.faces.map((f) => el("img", { src: `data:image/jpeg;base64,${f.crop}`,
        alt: f.file, title: f.file }))),
      can("write") ? form : el("span"));
  });
  const errors = result.errors.map((e) => el("p", { class: "error" }, `${e.file}: ${e.message}`));
  $("cluster-result").replaceChildren(...blocks, ...errors);
}

async function showKeys() {
  show("keys");
  const data = await api("/keys");
  $("keys-table").tBodies[0].replaceChildren(...data.keys.map((k) => el("tr", { "data-key": k.name },
    el("td", {}, k.name), el("td", {}, k.role), el("td", {}, el("code", {}, k.prefix + "…")),
    el("td", {}, new Date(k.created).toLocaleString()),
    el("td", {}, el("button", { type: "button", class: "secondary", onclick: async () => {
      await api(`/keys/${encodeURIComponent(k.name)}`, { method: "DELETE" });
      flash(`Revoked key ${k.name}.`);
      showKeys();
    } }, "Revoke")))));
}

// -- routing and sign-in --------------------------------------------------------------------------------------------
async function route() {
  flash(state.pending || "");
  state.pending = "";
  if (!state.role) { show("signin"); $("nav").hidden = true; return; }
  $("nav").hidden = false;
  const [, view, arg] = (location.hash || "#/people").split("/");
  try {
    if (view === "person" && arg) await showPerson(decodeURIComponent(arg));
    else if (view === "recognise") show("recognise");
    else if (view === "cluster") show("cluster");
    else if (view === "keys" && can("admin")) await showKeys();
    else await showPeople();
  } catch (err) { flash(err.message, true); }
}

async function signIn(key) {
  state.key = key;
  const me = await api("/me");
  state.role = me.role; state.name = me.name || "";
  sessionStorage.setItem("facerec-key", key);
  $("who").textContent = me.auth ? `${me.name} (${me.role})` : "no auth (admin)";
  $("nav-keys").hidden = !can("admin");
}

function signOut(message) {
  sessionStorage.removeItem("facerec-key");
  Object.assign(state, { key: "", role: "", name: "" });
  location.hash = "";
  route();
  if (message) { $("signin-error").textContent = message; $("signin-error").hidden = false; }
}

function busy(form, work) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try { await work(); } catch (err) { flash(err.message, true); } finally { button.disabled = false; }
  });
}

function setup() {
  const add = chooser("add"), more = chooser("enroll"), photo = chooser("recognise", false), batch = chooser("cluster");
  $("signin-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("signin-error").hidden = true;
    try { await signIn($("signin-key").value.trim()); $("signin-key").value = ""; route(); }
    catch (err) { $("signin-error").textContent = err.status === 401 ? "This key is not valid." : err.message;
                  $("signin-error").hidden = false; }
  });
  $("sign-out").addEventListener("click", () => signOut());
  $("people-search").addEventListener("input", () => showPeople().catch((err) => flash(err.message, true)));
  busy($("add-form"), async () => {
    const name = $("add-name").value.trim();
    if (!add.files().length) {
      await api("/people", { method: "POST", json: { name } });
      flash(`Added ${name}.`);
    } else {
      const result = await enroll(name, add.files(), $("add-outcomes"));
      flash(`Enrolled ${result.counts.enrolled || 0} photo(s) of ${result.person.name}.`);
    }
    add.clear(); $("add-name").value = "";
    await showPeople();
  });
  busy($("enroll-form"), async () => {
    const result = await enroll(current.name, more.files(), $("enroll-outcomes"));
    more.clear();
    flash(`Enrolled ${result.counts.enrolled || 0} photo(s) of ${current.name}.`);
    await showPerson(current.name);
  });
  busy($("rename-form"), async () => {
    const person = await api(`/people/${encodeURIComponent(current.name)}`, { method: "PATCH",
      json: { name: $("rename-name").value.trim() } });
    state.pending = `Renamed to ${person.name}.`;
    location.hash = `#/person/${encodeURIComponent(person.name)}`;
  });
  busy($("merge-form"), async () => {
    const into = $("merge-target").value;
    await api(`/people/${encodeURIComponent(current.name)}/merge`, { method: "POST", json: { into } });
    state.pending = `Merged into ${into}.`;
    location.hash = `#/person/${encodeURIComponent(into)}`;
  });
  $("delete-person").addEventListener("click", () => {
    $("delete-question").textContent = `Delete ${current.name} and ${current.samples} face(s)? This cannot be undone.`;
    $("delete-confirm").hidden = false; $("delete-person").hidden = true;
  });
  $("delete-no").addEventListener("click", () => { $("delete-confirm").hidden = true; $("delete-person").hidden = false; });
  $("delete-yes").addEventListener("click", async () => {
    try {
      await api(`/people/${encodeURIComponent(current.name)}`, { method: "DELETE" });
      state.pending = `Deleted ${current.name}.`;
      location.hash = "#/people";
    } catch (err) { flash(err.message, true); }
  });
  busy($("recognise-form"), async () => {
    if (!photo.files().length) throw new Error("Choose a photo first.");
    await recognise(photo.files()[0]);
  });
  busy($("cluster-form"), async () => {
    if (!batch.files().length) throw new Error("Choose some photos first.");
    await cluster(batch.files());
  });
  busy($("key-form"), async () => {
    const made = await api("/keys", { method: "POST", json: { name: $("key-name").value.trim(),
      role: $("key-role").value } });
    const box = $("key-new");
    box.replaceChildren("New key for ", el("b", {}, made.name), ` (${made.role}), shown only now: `,
      el("code", { id: "key-value" }, made.key));
    box.hidden = false;
    $("key-name").value = "";
    await showKeys();
  });
  window.addEventListener("hashchange", route);
}

setup();
(state.key ? signIn(state.key).catch(() => signOut()) : Promise.resolve()).then(route);
