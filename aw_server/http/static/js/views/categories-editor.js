// Category rules editor (the `classes` setting): a tree of categories, each with an
// optional regex. Changes are made on a working copy and stored with "Save rules".

import { api } from "../api.js";
import { h, replace, errorBox, loading, downloadText, confirmDialog } from "../dom.js";
import { saveSetting } from "../settings.js";
import { classTree, categoryColor, pathKey, ruleRegExp, ruleMatches, nextId, unusedColor, DEFAULT_CLASSES } from "../categories.js";

/** Accepts our export, ActivityWatch's ({categories: [...]}) or a bare list. */
export function parseRules(text) {
  const doc = JSON.parse(text);
  const list = Array.isArray(doc) ? doc : doc && (doc.classes || doc.categories);
  if (!Array.isArray(list)) throw new Error("the file holds no list of categories");
  return list.map((c, i) => {
    if (!c || !Array.isArray(c.name) || !c.name.length || !c.name.every((n) => typeof n === "string")) {
      throw new Error(`category ${i + 1} has no name list`);
    }
    const rule = c.rule && c.rule.type === "regex" ? { type: "regex", regex: String(c.rule.regex || ""), ignore_case: !!c.rule.ignore_case }
      : { type: "none" };
    return { id: Number.isInteger(c.id) ? c.id : i, name: c.name, rule, data: c.data && typeof c.data === "object" ? c.data : {} };
  });
}

let recentCache = null;

/** Distinct (app, title) of the newest 5000 events of each window bucket, to try rules on. */
async function recentWindows(signal) {
  if (!recentCache) {
    recentCache = (async () => {
      const buckets = Object.values(await api.buckets({ signal })).filter((b) => b.type === "currentwindow");
      const lists = await Promise.all(buckets.map((b) => api.events(b.id, { limit: 5000 }, { signal }).catch(() => [])));
      const seen = new Map();
      for (const e of lists.flat()) {
        if (!e.data) continue;
        const key = `${e.data.app}\u0000${e.data.title}`;
        const entry = seen.get(key) || { data: e.data, duration: 0 };
        entry.duration += e.duration;
        seen.set(key, entry);
      }
      return [...seen.values()].sort((a, b) => b.duration - a.duration);
    })();
    recentCache.catch(() => { recentCache = null; });
  }
  return recentCache;
}

export function categoriesEditor(settings, signal) {
  let classes = structuredClone(settings.classes);
  let dirty = settings.usingDefaultClasses;
  let editing = null; // {path: [...] | null (new), parent: [...]}
  const status = h("div", { role: "status", "aria-live": "polite" });
  const treeBox = h("div");
  const formBox = h("div");
  const defaultsNotice = settings.usingDefaultClasses
    ? h("p", { class: "notice" }, "You have no rules of your own yet: these are the defaults. Save them to keep them.") : null;
  const saveButton = h("button", { type: "button", class: "primary", id: "save-rules" }, "Save rules");
  const fileInput = h("input", { type: "file", accept: ".json,application/json", id: "rules-file", class: "sr-only",
    "aria-label": "Category rules file to import", tabindex: "-1" });

  const setDirty = (value) => {
    dirty = value;
    saveButton.disabled = !dirty;
    saveButton.textContent = dirty ? "Save rules" : "Saved";
  };

  const byPath = (path) => classes.find((c) => pathKey(c.name) === pathKey(path));
  const under = (path, name) => name.length >= path.length && pathKey(name.slice(0, path.length)) === pathKey(path);

  function renderTree() {
    const root = classTree(classes);
    const node = (n) => {
      const rule = n.cls && n.cls.rule && n.cls.rule.type === "regex" ? n.cls.rule.regex : "";
      return h("li", null,
        h("div", { class: "cat-row", "data-category": pathKey(n.path) },
          h("span", { class: "swatch", style: { background: categoryColor(n.path, classes) }, "aria-hidden": "true" }),
          h("span", { class: "cat-name" }, n.name),
          h("span", { class: "cat-rule", title: rule }, rule ? `/${rule}/${n.cls.rule.ignore_case ? "i" : ""}` : "no rule of its own"),
          h("button", { type: "button", "aria-label": `Edit ${pathKey(n.path)}`, onclick: () => openForm(n.path) }, "Edit"),
          h("button", { type: "button", "aria-label": `Add a subcategory to ${pathKey(n.path)}`, onclick: () => openForm(null, n.path) }, "Add sub"),
          h("button", { type: "button", class: "danger", "aria-label": `Delete ${pathKey(n.path)}`, onclick: () => remove(n.path) }, "Delete")),
        n.children.length ? h("ul", null, n.children.map(node)) : null);
    };
    replace(treeBox, root.children.length ? h("ul", { class: "cat-tree", "aria-label": "Categories" }, root.children.map(node))
      : h("p", { class: "empty" }, "No categories: everything counts as Uncategorized."));
  }

  async function remove(path) {
    const count = classes.filter((c) => under(path, c.name)).length;
    const ok = await confirmDialog(`Delete ${pathKey(path)}?`,
      count > 1 ? `This also deletes its ${count - 1} subcategories. Nothing changes on the server until you save the rules.`
        : "Nothing changes on the server until you save the rules.");
    if (!ok) return;
    classes = classes.filter((c) => !under(path, c.name));
    if (editing && editing.path && under(path, editing.path)) closeForm();
    setDirty(true);
    renderTree();
  }

  function closeForm() {
    editing = null;
    replace(formBox);
  }

  function openForm(path, parent = []) {
    const existing = path ? byPath(path) : null;
    editing = { path, parent: path ? path.slice(0, -1) : parent };
    const rule = existing && existing.rule && existing.rule.type === "regex" ? existing.rule : { regex: "", ignore_case: false };
    const name = h("input", { id: "cat-name", required: true, value: path ? path[path.length - 1] : "" });
    const parents = [[], ...classTree(classes).children.flatMap(function walk(n) { return [n.path, ...n.children.flatMap(walk)]; })]
      .filter((p) => !path || !under(path, p));
    const parentSelect = h("select", { id: "cat-parent" }, parents.map((p) =>
      h("option", { value: pathKey(p), selected: pathKey(p) === pathKey(editing.parent) }, p.length ? pathKey(p) : "(top level)")));
    const regex = h("input", { id: "cat-regex", class: "mono", value: rule.regex, placeholder: "e.g. GitHub|Stack Overflow" });
    const ignoreCase = h("input", { type: "checkbox", id: "cat-icase", checked: !!rule.ignore_case });
    // <input type=color> only takes #rrggbb; other colour syntaxes get a fresh colour.
    const own = existing && existing.data && existing.data.color;
    const color = h("input", { type: "color", id: "cat-color", value: /^#[0-9a-f]{6}$/i.test(own || "") ? own : unusedColor(classes) });
    const testOut = h("div", { "aria-live": "polite" });
    const problem = h("div");
    const draftRule = () => (regex.value ? { type: "regex", regex: regex.value, ignore_case: ignoreCase.checked } : { type: "none" });

    const test = async () => {
      replace(testOut, loading("Trying the rule on recent windows…"));
      let re;
      try {
        re = ruleRegExp(draftRule());
      } catch (err) {
        replace(testOut, errorBox(new Error(`invalid regular expression: ${err.message}`)));
        return;
      }
      if (!re) { replace(testOut, h("p", { class: "muted" }, "Without a regex this category only groups its subcategories.")); return; }
      try {
        const windows = await recentWindows(signal);
        const hits = windows.filter((w) => ruleMatches(re, w.data));
        replace(testOut, h("p", { class: "test-result" }, `Matches ${hits.length} of ${windows.length} recent window titles.`),
          hits.length ? h("ul", { class: "matches" }, hits.slice(0, 40).map((w) => h("li", null, `${w.data.title} — ${w.data.app}`))) : null);
      } catch (err) {
        replace(testOut, errorBox(err));
      }
    };

    const apply = (ev) => {
      ev.preventDefault();
      const label = name.value.trim();
      const newParent = parents.find((p) => pathKey(p) === parentSelect.value) || [];
      const newPath = [...newParent, label];
      if (!label) { replace(problem, errorBox(new Error("the name may not be empty"))); return; }
      try { ruleRegExp(draftRule()); } catch (err) {
        replace(problem, errorBox(new Error(`invalid regular expression: ${err.message}`)));
        return;
      }
      const clash = byPath(newPath);
      if (clash && clash !== existing) { replace(problem, errorBox(new Error(`${pathKey(newPath)} already exists`))); return; }
      const data = { ...((existing && existing.data) || {}), color: color.value };
      if (existing) {
        // Moving or renaming a category carries its subcategories along.
        const old = path;
        for (const c of classes) if (c !== existing && under(old, c.name)) c.name = [...newPath, ...c.name.slice(old.length)];
        Object.assign(existing, { name: newPath, rule: draftRule(), data });
      } else {
        if (path) for (const c of classes) if (under(path, c.name)) c.name = [...newPath, ...c.name.slice(path.length)];
        classes.push({ id: nextId(classes), name: newPath, rule: draftRule(), data });
      }
      setDirty(true);
      closeForm();
      renderTree();
      status.textContent = `${pathKey(newPath)} updated. Save the rules to use them.`;
    };

    const title = path ? `Edit ${pathKey(path)}` : parent.length ? `New subcategory of ${pathKey(parent)}` : "New category";
    replace(formBox, h("form", { class: "card", style: { margin: "1rem 0" }, "aria-label": title, onsubmit: apply },
      h("h3", null, title),
      h("div", { class: "form-grid" },
        h("label", { class: "field" }, "Name", name),
        h("label", { class: "field" }, "Parent", parentSelect),
        h("label", { class: "field", style: { gridColumn: "1 / -1" } }, "Rule: regular expression matched against app and title", regex),
        h("label", { class: "field inline" }, ignoreCase, "Ignore case"),
        h("label", { class: "field inline" }, color, "Colour")),
      problem,
      h("div", { class: "actions", style: { marginTop: ".75rem" } },
        h("button", { type: "submit", class: "primary" }, "Apply"),
        h("button", { type: "button", onclick: test }, "Test rule"),
        h("button", { type: "button", onclick: closeForm }, "Cancel")),
      testOut));
    name.focus();
  }

  saveButton.addEventListener("click", async () => {
    saveButton.disabled = true;
    replace(status, loading("Saving…"));
    try {
      await saveSetting("classes", classes);
      setDirty(false);
      if (defaultsNotice) defaultsNotice.remove();
      replace(status, h("p", { class: "ok" }, "Rules saved. The Activity view uses them now."));
    } catch (err) {
      saveButton.disabled = false;
      replace(status, errorBox(err));
    }
  });
  fileInput.addEventListener("change", async () => {
    const file = fileInput.files[0];
    if (!file) return;
    try {
      classes = parseRules(await file.text());
      setDirty(true);
      closeForm();
      renderTree();
      replace(status, h("p", { class: "notice" }, `Loaded ${classes.length} categories from ${file.name}. Save the rules to use them.`));
    } catch (err) {
      replace(status, errorBox(new Error(`cannot import ${file.name}: ${err.message}`)));
    }
    fileInput.value = "";
  });

  renderTree();
  setDirty(dirty);
  return h("section", { class: "card full", "aria-labelledby": "rules-title" },
    h("h2", { id: "rules-title" }, "Categories"),
    h("p", { class: "hint" }, "An event gets the deepest category whose rule matches its app or title. " +
      "Stored in the server's `classes` setting, shared with ActivityWatch's web UI."),
    defaultsNotice,
    h("div", { class: "actions section" },
      h("button", { type: "button", onclick: () => openForm(null, []) }, "Add category"),
      saveButton,
      h("button", { type: "button", onclick: () => downloadText("aw-category-rules.json", JSON.stringify({ classes }, null, 2)) }, "Export rules"),
      h("button", { type: "button", onclick: () => fileInput.click() }, "Import rules"), fileInput,
      h("button", { type: "button", onclick: async () => {
        if (!(await confirmDialog("Reset to the default rules?", "Your rules are replaced by the defaults once you save.", "Reset"))) return;
        classes = structuredClone(DEFAULT_CLASSES);
        setDirty(true); closeForm(); renderTree();
      } }, "Reset to defaults")),
    status, formBox, treeBox);
}
