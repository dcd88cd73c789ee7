"""The browser chat page: one self-contained HTML+JS document (no CDN, no build step).

Everything from the server is put into the page with `textContent` or attribute setters, never
as HTML, so bot text and user names cannot inject markup.
"""

CHAT_PAGE_HTML = r"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Telegram emulator — chat</title>
<style>
  /* A column as tall as the window: the chat scrolls, the composer stays in view however many
     lines the header wraps to. */
  body { font-family: system-ui, sans-serif; margin: 0; background: #e6ebee; color: #222;
         height: 100vh; display: flex; flex-direction: column; }
  header { background: #517da2; color: #fff; padding: 8px 12px; display: flex; gap: 8px;
           flex-wrap: wrap; align-items: center; }
  header select, header input, header button { font-size: 14px; }
  main { max-width: 760px; width: 100%; margin: 0 auto; display: flex; flex-direction: column;
         flex: 1; min-height: 0; }
  #messages { flex: 1; overflow-y: auto; padding: 12px; }
  .message { max-width: 80%; margin: 6px 0; padding: 8px 10px; border-radius: 10px;
             background: #fff; white-space: pre-wrap; word-wrap: break-word; }
  .message.user { margin-left: auto; background: #effdde; }
  .meta { font-size: 11px; color: #888; margin-top: 4px; }
  .inline-keyboard { margin-top: 6px; display: flex; flex-direction: column; gap: 4px; }
  .inline-row, .reply-row { display: flex; gap: 4px; }
  .inline-row button, .reply-row button { flex: 1; padding: 6px; border: 1px solid #9bb7cf;
             background: #f4f8fb; border-radius: 6px; cursor: pointer; }
  #reply-keyboard { padding: 4px 12px; display: flex; flex-direction: column; gap: 4px; }
  #composer { display: flex; gap: 6px; padding: 8px 12px; background: #fff; flex-wrap: wrap; }
  #message-input { flex: 1; min-width: 200px; padding: 8px; font-size: 15px; }
  #toast { position: fixed; top: 60px; left: 50%; transform: translateX(-50%);
           background: rgba(0,0,0,.8); color: #fff; padding: 8px 14px; border-radius: 8px;
           display: none; }
  #alert { position: fixed; inset: 0; background: rgba(0,0,0,.4); display: none;
           align-items: center; justify-content: center; }
  #alert div { background: #fff; padding: 16px; border-radius: 8px; max-width: 320px; }
  .error { color: #b00020; padding: 4px 12px; }
  code, pre { font-family: monospace; background: #f0f0f0; }
  .spoiler { background: #999; color: #999; }
  .spoiler:hover { color: inherit; background: transparent; }
</style>
</head>
<body>
<header>
  <label>Bot <select id="bot-select"></select></label>
  <label>User <select id="user-select"></select></label>
  <input id="new-user-name" placeholder="First name" size="10">
  <input id="new-user-username" placeholder="username" size="10">
  <select id="new-user-language"><option>ru</option><option>en</option></select>
  <input id="new-user-id" placeholder="id (optional)" size="10">
  <button id="create-user">Create user</button>
  <button id="block-toggle">Block bot</button>
</header>
<main>
  <div id="messages" aria-live="polite"></div>
  <div id="error" class="error"></div>
  <div id="reply-keyboard"></div>
  <div id="composer">
    <input id="message-input" placeholder="Message or /command" autocomplete="off">
    <button id="send-button">Send</button>
    <button id="share-contact">Share my contact</button>
    <input id="latitude" value="55.7558" size="8" aria-label="latitude">
    <input id="longitude" value="37.6173" size="8" aria-label="longitude">
    <button id="share-location">Share location</button>
  </div>
</main>
<div id="toast"></div>
<div id="alert"><div><p id="alert-text"></p><button id="alert-ok">OK</button></div></div>
<script>
"use strict";
const state = { botId: null, userId: null, version: null, generation: 0, blocked: false,
                lastAnswerAt: null };
const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch("/_emulator" + path, options);
  const data = await response.json();
  if (!data.ok) { throw new Error(data.description || "request failed"); }
  return data.result;
}

function showError(error) { $("error").textContent = error ? String(error.message || error) : ""; }

function userPath(action) { return `/bots/${state.botId}/users/${state.userId}/${action}`; }

function safeUrl(url) {
  try {
    const parsed = new URL(url, location.href);
    return ["http:", "https:", "tg:"].includes(parsed.protocol) ? parsed.href : null;
  } catch (e) { return null; }
}

// Render text with its entities as DOM nodes (offsets are UTF-16, like JS strings).
function renderText(text, entities) {
  const fragment = document.createDocumentFragment();
  const cuts = new Set([0, text.length]);
  for (const entity of entities || []) {
    cuts.add(entity.offset); cuts.add(entity.offset + entity.length);
  }
  const points = [...cuts].filter((p) => p >= 0 && p <= text.length).sort((a, b) => a - b);
  for (let i = 0; i + 1 < points.length; i++) {
    const start = points[i], end = points[i + 1];
    const covering = (entities || []).filter((e) => e.offset <= start && e.offset + e.length >= end);
    let node = document.createTextNode(text.slice(start, end));
    for (const entity of covering) {
      let wrapper = null;
      switch (entity.type) {
        case "bold": wrapper = document.createElement("b"); break;
        case "italic": wrapper = document.createElement("i"); break;
        case "underline": wrapper = document.createElement("u"); break;
        case "strikethrough": wrapper = document.createElement("s"); break;
        case "code": wrapper = document.createElement("code"); break;
        case "pre": wrapper = document.createElement("pre"); break;
        case "spoiler": wrapper = document.createElement("span"); wrapper.className = "spoiler"; break;
        case "blockquote": case "expandable_blockquote":
          wrapper = document.createElement("blockquote"); break;
        case "text_link": {
          const href = safeUrl(entity.url);
          if (href) { wrapper = document.createElement("a"); wrapper.href = href;
                      wrapper.target = "_blank"; wrapper.rel = "noopener noreferrer"; }
          break;
        }
      }
      if (wrapper) { wrapper.appendChild(node); node = wrapper; }
    }
    fragment.appendChild(node);
  }
  return fragment;
}

function renderMessage(message) {
  const item = document.createElement("div");
  item.className = "message " + (message.from_bot ? "bot" : "user");
  item.dataset.messageId = String(message.message_id);
  const body = document.createElement("div");
  body.className = "message-text";
  if (message.text) { body.appendChild(renderText(message.text, message.entities)); }
  item.appendChild(body);
  const attachment = message.document || message.photo;
  if (attachment) {
    const link = document.createElement("a");
    link.className = "download";
    link.href = `/_emulator/bots/${state.botId}/${attachment.download_path}`;
    link.textContent = `📎 ${attachment.file_name} (${attachment.file_size} bytes)`;
    link.setAttribute("download", attachment.file_name);
    item.appendChild(link);
  }
  const place = message.venue || (message.location ? { location: message.location } : null);
  if (place) {
    const where = document.createElement("div");
    const title = message.venue ? `${message.venue.title}, ${message.venue.address} ` : "";
    where.textContent = `📍 ${title}(${place.location.latitude}, ${place.location.longitude})`;
    item.appendChild(where);
  }
  if (message.contact) {
    const contact = document.createElement("div");
    contact.textContent = `👤 ${message.contact.first_name} ${message.contact.phone_number}`;
    item.appendChild(contact);
  }
  const markup = message.reply_markup;
  if (markup && markup.inline_keyboard) {
    const keyboard = document.createElement("div");
    keyboard.className = "inline-keyboard";
    for (const row of markup.inline_keyboard) {
      const rowNode = document.createElement("div");
      rowNode.className = "inline-row";
      for (const button of row) {
        const node = document.createElement("button");
        node.className = "inline-button";
        node.textContent = button.text;
        if (button.callback_data !== undefined) {
          node.dataset.callbackData = button.callback_data;
          node.addEventListener("click", () => press(message.message_id, button.callback_data));
        } else if (button.url) {
          const href = safeUrl(button.url);
          node.addEventListener("click", () => { if (href) window.open(href, "_blank", "noopener"); });
        }
        rowNode.appendChild(node);
      }
      keyboard.appendChild(rowNode);
    }
    item.appendChild(keyboard);
  }
  const meta = document.createElement("div");
  meta.className = "meta";
  meta.textContent = `#${message.message_id} ${new Date(message.date * 1000).toLocaleTimeString()}`
    + (message.edited ? " · edited" : "");
  item.appendChild(meta);
  return item;
}

function renderReplyKeyboard(keyboard) {
  const area = $("reply-keyboard");
  area.replaceChildren();
  if (!keyboard || !keyboard.keyboard) { return; }
  for (const row of keyboard.keyboard) {
    const rowNode = document.createElement("div");
    rowNode.className = "reply-row";
    for (const button of row) {
      const node = document.createElement("button");
      node.className = "reply-button";
      node.textContent = button.text;
      node.addEventListener("click", () => {
        if (button.request_contact) { shareContact(); }
        else if (button.request_location) { shareLocation(); }
        else { sendText(button.text); }
      });
      rowNode.appendChild(node);
    }
    area.appendChild(rowNode);
  }
}

function showCallbackAnswer(answer) {
  if (!answer || answer.answered_at === state.lastAnswerAt) { return; }
  state.lastAnswerAt = answer.answered_at;
  if (!answer.text) { return; }
  if (answer.show_alert) {
    $("alert-text").textContent = answer.text;
    $("alert").style.display = "flex";
  } else {
    const toast = $("toast");
    toast.textContent = answer.text;
    toast.style.display = "block";
    setTimeout(() => { toast.style.display = "none"; }, 3000);
  }
}

// A message's node is kept while the message is unchanged, so a later message, an edit of
// another one or a callback answer does not replace it (a browser test holding it, a selection
// or a screenshot in progress stays valid); an edited message gets a new node.
const drawn = new Map();

function messageNode(message) {
  const key = JSON.stringify(message);
  const known = drawn.get(message.message_id);
  if (known && known.key === key) { return known.node; }
  const node = renderMessage(message);
  drawn.set(message.message_id, { key, node });
  return node;
}

function renderChat(view) {
  const list = $("messages");
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const nodes = view.messages.map(messageNode);
  nodes.forEach((node, index) => {
    if (list.children[index] !== node) { list.insertBefore(node, list.children[index] || null); }
  });
  while (list.children.length > nodes.length) { list.lastElementChild.remove(); }
  const shown = new Set(view.messages.map((message) => message.message_id));
  for (const id of [...drawn.keys()]) { if (!shown.has(id)) { drawn.delete(id); } }
  if (nearBottom) { list.scrollTop = list.scrollHeight; }
  // Which chat is drawn, at which version: a test (or a script) waits for these attributes
  // rather than guessing when the first long poll has answered.
  list.dataset.chatUser = String(state.userId);
  list.dataset.version = String(view.version);
  renderReplyKeyboard(view.reply_keyboard);
  state.blocked = view.blocked;
  $("block-toggle").textContent = view.blocked ? "Unblock bot" : "Block bot";
  showCallbackAnswer(view.last_callback_answer);
}

async function pollChat(generation) {
  while (generation === state.generation) {
    try {
      const since = state.version === null ? "" : `&since=${state.version}`;
      const view = await api("GET", `/bots/${state.botId}/chats/${state.userId}?timeout=20${since}`);
      if (generation !== state.generation) { return; }
      state.version = view.version;
      renderChat(view);
    } catch (error) {
      showError(error);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

function openChat() {
  state.generation += 1;
  state.version = null;
  state.lastAnswerAt = null;
  $("messages").replaceChildren();
  drawn.clear();
  delete $("messages").dataset.chatUser;
  delete $("messages").dataset.version;
  const params = new URLSearchParams({ bot: state.botId, user: state.userId || "" });
  history.replaceState(null, "", "?" + params.toString());
  if (state.userId) { pollChat(state.generation); }
}

async function act(promise) {
  try { showError(null); await promise; } catch (error) { showError(error); }
}
function sendText(text) {
  return act(api("POST", userPath("text"), { text }));
}
function press(messageId, data) {
  return act(api("POST", userPath("press"), { message_id: messageId, callback_data: data }));
}
function shareContact() { return act(api("POST", userPath("contact"), {})); }
function shareLocation() {
  return act(api("POST", userPath("location"), {
    latitude: Number($("latitude").value), longitude: Number($("longitude").value) }));
}

async function loadUsers(selectId) {
  const users = await api("GET", "/users");
  const select = $("user-select");
  select.replaceChildren(...users.map((user) => {
    const option = document.createElement("option");
    option.value = String(user.id);
    option.textContent = `${user.first_name}${user.username ? " @" + user.username : ""} (${user.id})`;
    return option;
  }));
  const wanted = selectId || state.userId || (users[0] && users[0].id);
  if (wanted) { select.value = String(wanted); state.userId = Number(select.value) || null; }
}

async function init() {
  const query = new URLSearchParams(location.search);
  const bots = await api("GET", "/bots");
  const botSelect = $("bot-select");
  botSelect.replaceChildren(...bots.map((bot) => {
    const option = document.createElement("option");
    option.value = String(bot.id);
    option.textContent = `@${bot.username}`;
    return option;
  }));
  if (query.get("bot")) { botSelect.value = query.get("bot"); }
  state.botId = Number(botSelect.value);
  await loadUsers(query.get("user") ? Number(query.get("user")) : null);
  botSelect.addEventListener("change", () => { state.botId = Number(botSelect.value); openChat(); });
  $("user-select").addEventListener("change", () => {
    state.userId = Number($("user-select").value); openChat();
  });
  $("create-user").addEventListener("click", () => act((async () => {
    const idText = $("new-user-id").value.trim();
    const user = await api("POST", "/users", {
      first_name: $("new-user-name").value.trim(),
      username: $("new-user-username").value.trim() || null,
      language_code: $("new-user-language").value,
      id: idText ? Number(idText) : null,
    });
    await loadUsers(user.id);
    openChat();
  })()));
  $("send-button").addEventListener("click", () => {
    const text = $("message-input").value;
    if (!text.trim() || !state.userId) { return; }
    $("message-input").value = "";
    sendText(text);
  });
  $("message-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter") { $("send-button").click(); }
  });
  $("share-contact").addEventListener("click", () => shareContact());
  $("share-location").addEventListener("click", () => shareLocation());
  $("block-toggle").addEventListener("click", () =>
    act(api("POST", userPath(state.blocked ? "unblock" : "block"))));
  $("alert-ok").addEventListener("click", () => { $("alert").style.display = "none"; });
  openChat();
}

init().catch(showError);
</script>
</body>
</html>
"""
