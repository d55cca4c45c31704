// The Stars shop Mini App (guest-examples/shop behind extws-wasm):
// BuyRequest over the WebSocket -> an invoice link -> Telegram.WebApp.openInvoice -> Telegram
// charges the user and sends the bot the payment -> the handler records it and pushes
// PurchaseConfirmed here, to every open connection of the buyer.
import { ExtwsClient, HandlerException } from "./extws.js";

const $ = (id) => document.getElementById(id);
const tg = window.Telegram?.WebApp;
const client = new ExtwsClient(new URL("./", location.href).href, {
  initData: tg?.initData ?? "",
  transport: "message",
});

function showError(text) {
  $("error").textContent = text;
  $("error").hidden = !text;
}

function describe(error) {
  return error instanceof HandlerException ? error.message : (error?.message ?? String(error));
}

async function refresh() {
  const { purchases } = await client.request("PurchasesRequest", {});
  $("purchases").replaceChildren(...purchases.map((p) => {
    const li = document.createElement("li");
    li.textContent = `${p.item} · ${p.stars} ⭐${p.refunded ? " (refunded)" : ""}`;
    return li;
  }));
}

client.onState((state) => {
  $("status").textContent = state === "open" ? "Ready" : `${state}…`;
  for (const b of document.querySelectorAll("button[data-item]")) b.disabled = state !== "open";
  if (state === "open") refresh().catch((e) => showError(describe(e)));
});

// Sent by the handler of the successful_payment update, once per payment.
client.on("PurchaseConfirmed", ({ item }) => {
  $("status").textContent = `Thank you! Your ${item} is yours.`;
  refresh().catch((e) => showError(describe(e)));
});

for (const button of document.querySelectorAll("button[data-item]")) {
  button.addEventListener("click", async () => {
    showError("");
    try {
      const { link } = await client.request("BuyRequest", { item: button.dataset.item });
      if (!tg) throw new Error("open this page from Telegram to pay");
      tg.openInvoice(link, (status) => {
        // "paid" comes before the bot's update: the confirmation arrives as PurchaseConfirmed.
        if (status !== "paid") $("status").textContent = `Payment ${status}`;
      });
    } catch (error) {
      showError(describe(error));
    }
  });
}

tg?.ready();
client.connect().catch((e) => showError(describe(e)));
