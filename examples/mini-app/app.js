// The demo Mini App: a calc form, a "who am I" button and a list of pushed Notices over
// extws-wasm, using the JS client. ./extws.js is a symlink to clients/js/extws.js (the server
// serves one directory). Pushes survive reconnects: the client resumes from the last Seq it saw,
// and the page keeps that Seq in sessionStorage so a reload (Telegram on iOS reloads a Mini App
// when the user switches apps) resumes too.
import { AuthError, ExtwsClient, HandlerException } from "./extws.js";

const $ = (id) => document.getElementById(id);
const tg = window.Telegram?.WebApp;
const fragment = new URLSearchParams(location.hash.slice(1));
const query = new URLSearchParams(location.search);

/** initData: from Telegram's script when it is loaded, else from the launch fragment
 * (#tgWebAppData=<urlencoded initData>&tgWebAppVersion=...), as Telegram opens Mini Apps. */
function launchInitData() {
  if (tg?.initData) return tg.initData;
  return fragment.get("tgWebAppData") ?? "";
}

/** Telegram passes the theme in the fragment too; its script turns it into these CSS variables. */
function applyTheme() {
  if (tg) return; // telegram-web-app.js sets --tg-theme-* itself
  try {
    const theme = JSON.parse(fragment.get("tgWebAppThemeParams") ?? "{}");
    for (const [key, value] of Object.entries(theme)) {
      if (typeof value === "string") document.documentElement.style.setProperty(`--tg-theme-${key.replace(/_/g, "-")}`, value);
    }
  } catch {
    // no theme: the stylesheet's defaults apply
  }
}

function showError(text) {
  $("error").textContent = text;
  $("error").hidden = !text;
}

function describe(error) {
  if (error instanceof HandlerException) return `${error.code}: ${error.message}`;
  return error?.message ?? String(error);
}

function setStatus(state, text) {
  $("status").dataset.state = state;
  $("status").textContent = text;
  const usable = state === "open";
  $("calc-submit").disabled = !usable;
  $("whoami").disabled = !usable;
  $("notify").disabled = !usable;
  $("reconnect").hidden = state !== "closed";
}

function userLine(user) {
  if (!user) return "Nobody: no user in this session";
  const name = [user.first_name, user.last_name].filter(Boolean).join(" ");
  return `${name}${user.username ? ` (@${user.username})` : ""}, id ${user.id}`;
}

applyTheme();
tg?.ready();
tg?.expand();

const initData = launchInitData();
// "message" keeps initData out of URLs and headers and, unlike the pre-upgrade transports, tells
// the page why a refused initData was refused. ?transport= picks another for experiments.
const transport = initData ? (query.get("transport") ?? "message") : "none";
const server = query.get("server") ?? new URL("/", location.href).href; // same origin by default
$("transport").textContent = `transport: ${transport}`;

const SEQ_KEY = "extws-demo.lastSeq";
const saved = Number(sessionStorage.getItem(SEQ_KEY));
const lastSeq = Number.isSafeInteger(saved) && saved > 0 ? saved : null;
const client = new ExtwsClient(server, { initData, transport, lastSeq });

client.on("Notice", (data, message) => {
  const item = document.createElement("li");
  item.textContent = data?.text ?? "";
  if (message.Seq !== undefined) item.dataset.seq = String(message.Seq);
  $("notices").append(item);
  if (client.lastSeq !== null) sessionStorage.setItem(SEQ_KEY, String(client.lastSeq));
});

client.on("gap", ({ error }) => {
  // Some pushes were lost (the history no longer reached back far enough): refetch state here.
  $("gap").textContent = error
    ? "The saved position was refused; some notifications may be missing."
    : "Some notifications were missed while offline.";
  $("gap").hidden = false;
  if (client.lastSeq === null) sessionStorage.removeItem(SEQ_KEY);
});

client.onState((state, { attempt, delayMs, error }) => {
  switch (state) {
    case "connecting":
      setStatus(state, "Connecting…");
      break;
    case "open":
      setStatus(state, client.user ? `Connected as ${client.user.first_name}` : "Connected");
      showError("");
      break;
    case "reconnecting":
      setStatus(state, delayMs === undefined
        ? `Reconnecting (attempt ${attempt})…`
        : `Connection lost; reconnecting in ${(delayMs / 1000).toFixed(1)} s`);
      break;
    case "closed":
      if (error instanceof AuthError) {
        setStatus(state, `Authentication failed: ${error.reason || error.message}`);
        $("reconnect").hidden = true; // the same initData would be refused again
      } else {
        setStatus(state, `Disconnected: ${describe(error)}`);
      }
      break;
  }
});

async function start() {
  if (!initData) showError("No initData: open this page from Telegram, or append #tgWebAppData=<urlencoded initData>.");
  try {
    await client.connect();
  } catch (error) {
    if (!(error instanceof AuthError) && transport !== "message" && transport !== "none") {
      // Browsers hide the HTTP 401 of a refused upgrade: a bad initData looks like a network error.
      showError(`Could not connect. The server may have refused the initData (invalid or expired) or be unreachable. (${describe(error)})`);
    } else if (error instanceof AuthError) {
      showError(`${error.message}. Reopen the Mini App from Telegram for a fresh initData.`);
    } else {
      showError(describe(error));
    }
  }
}

$("calc-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  showError("");
  const tokens = $("numbers").value.split(/[\s,;]+/).filter(Boolean);
  const bad = tokens.find((t) => !/^-?\d+(\.\d+)?$/.test(t));
  if (bad !== undefined) {
    showError(`"${bad}" is not a number`);
    return;
  }
  $("sum").value = "…";
  try {
    const { result } = await client.request("CalculateRequest", { numbers: tokens.map(Number) });
    $("sum").value = String(result);
  } catch (error) {
    $("sum").value = "—";
    showError(describe(error));
  }
});

$("whoami").addEventListener("click", async () => {
  showError("");
  try {
    const { user } = await client.request("WhoAmIRequest");
    $("user").textContent = userLine(user);
    $("user-json").textContent = JSON.stringify(user, null, 2);
    $("user-json").hidden = false;
  } catch (error) {
    showError(describe(error));
  }
});

let myId = null;
$("notify-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  showError("");
  try {
    myId ??= client.user?.id ?? (await client.request("WhoAmIRequest")).user?.id;
    await client.request("NotifyUserRequest", { user: myId, text: $("notify-text").value });
  } catch (error) {
    showError(describe(error));
  }
});

$("reconnect").addEventListener("click", () => {
  showError("");
  start();
});

start();
