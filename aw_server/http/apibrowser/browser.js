"use strict";
// Renders the OpenAPI document as expandable forms that send real requests.
(async function () {
  const root = document.getElementById("routes");
  const spec = await (await fetch("/api/0/openapi.json")).json();
  const byTag = new Map();
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags || ["other"])[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push({ path, method, op });
    }
  }
  root.textContent = "";
  for (const [tag, ops] of byTag) {
    const h = document.createElement("h2");
    h.textContent = tag;
    root.append(h);
    for (const entry of ops) root.append(renderOp(entry));
  }

  function renderOp({ path, method, op }) {
    const box = document.createElement("details");
    const sum = document.createElement("summary");
    sum.innerHTML = `<span class="m"></span><code></code> — <span></span>`;
    sum.children[0].textContent = method.toUpperCase();
    sum.children[1].textContent = path;
    sum.children[2].textContent = op.summary || "";
    box.append(sum);
    const form = document.createElement("form");
    const inputs = {};
    for (const p of op.parameters || []) {
      const label = document.createElement("label");
      label.textContent = `${p.name} (${p.in}${p.required ? ", required" : ""}) `;
      const input = document.createElement("input");
      input.name = p.name;
      input.placeholder = p.description || p.schema.type;
      label.append(input);
      form.append(label);
      inputs[p.name] = { input, where: p.in };
    }
    let body = null;
    if (op.requestBody) {
      const label = document.createElement("label");
      label.textContent = "JSON body";
      body = document.createElement("textarea");
      label.append(body);
      form.append(label);
    }
    const send = document.createElement("button");
    send.textContent = "Send";
    form.append(send);
    const out = document.createElement("pre");
    out.setAttribute("aria-live", "polite");
    form.append(out);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      let url = path;
      const query = new URLSearchParams();
      for (const [name, { input, where }] of Object.entries(inputs)) {
        if (where === "path") url = url.replace(`{${name}}`, encodeURIComponent(input.value));
        else if (input.value !== "") query.set(name, input.value);
      }
      if ([...query].length) url += "?" + query;
      const init = { method: method.toUpperCase(), headers: {} };
      if (body && body.value.trim()) {
        init.body = body.value;
        init.headers["Content-Type"] = "application/json";
      }
      out.textContent = "…";
      try {
        const res = await fetch(url, init);
        const text = await res.text();
        let shown = text;
        try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON */ }
        out.textContent = `${res.status} ${res.statusText}\n\n${shown}`;
      } catch (e) {
        out.textContent = String(e);
      }
    });
    box.append(form);
    return box;
  }
})();
