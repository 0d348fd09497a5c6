/* Amana field intake: the service worker (served at /field/sw.js, scope /field/).

   It keeps for offline use ONLY the allowlist below: the two shells, the page's script, its
   style and icon, and the setup (the user id and the organisation's public key). Network
   first, the cached copy when the network fails or the session has ended. Nothing else is ever
   cached: no case page, no upload, no POST. An older cache version is deleted on activation. */
"use strict";

const CACHE = "amana-field-v1";
const PREFIX = "amana-field-";
const ALLOW = [
  "/field/shell/en",
  "/field/shell/ar",
  "/field/setup.json",
  "/static/js/field-intake.js",
  "/static/css/amana.css",
  "/static/favicon.svg",
];

/* A clean answer of our own origin: 200, not a redirect (an ended session is sent to the
   login page, which must never be kept in place of the form). */
function clean(res) {
  return res.status === 200 && res.type === "basic" && !res.redirected;
}

function fresh(path) {
  return fetch(path, { credentials: "same-origin", cache: "no-store", redirect: "manual" });
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    for (const path of ALLOW) {
      const res = await fresh(path);
      if (!clean(res)) throw new Error("field intake: not ready for offline use");
      await cache.put(path, res);
    }
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

async function networkFirst(request, path) {
  const cache = await caches.open(CACHE);
  let res;
  try {
    res = await fresh(path);
  } catch (offline) {
    const kept = await cache.match(path);
    if (kept) return kept;
    throw offline;
  }
  if (clean(res)) {
    await cache.put(path, res.clone());
    return res;
  }
  const kept = await cache.match(path);
  if (kept) return kept;           // the session ended: the form still works, sealed offline
  return fetch(request);           // never prepared here: let the browser follow (to sign in)
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || url.search
      || !ALLOW.includes(url.pathname)) {
    return;  // not ours to keep: the network answers, nothing is cached
  }
  event.respondWith(networkFirst(request, url.pathname));
});
