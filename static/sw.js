// Roleta's service worker.
// - Offers reach a broker who is not looking: a web push shows a notification with Atender and
//   Recusar; those actions answer the offer over HTTP with the broker's session cookie, then
//   focus (or open) the console. A plain click on the notification only focuses the page.
// - The app shell stays available offline: the broker's pages, scripts, styles and icons are
//   cached on install; pages and files are served network-first with the cache as fallback, and
//   with neither a small pt-BR "sem conexão" page answers instead of a browser error.
//   /api/ and /ws are never cached (nor anything that is not a same-origin GET).
const CACHE = 'roleta-shell-v1';
const SHELL = [
  '/console.html', '/oferta.html',
  '/css/app.css', '/css/broker.css',
  '/js/api.js', '/js/console.js', '/js/oferta-sheet.js', '/js/contato.js', '/js/aviso-roleta.js', '/js/oferta.js',
  '/manifest.webmanifest',
];

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // One missing file must not keep the worker from installing: each is cached on its own.
    await Promise.allSettled(SHELL.map((url) => cache.add(url)));
    await cacheIcons(cache);
    await self.skipWaiting();
  })());
});

/** The icons named by the manifest (whatever their names), cached with the shell. */
async function cacheIcons(cache) {
  try {
    const res = await cache.match('/manifest.webmanifest');
    if (!res) return;
    const manifest = await res.clone().json();
    const icons = (manifest.icons || []).map((i) => new URL(i.src, self.location.origin))
      .filter((u) => u.origin === self.location.origin).map((u) => u.pathname);
    await Promise.allSettled(icons.map((url) => cache.add(url)));
  } catch { /* no manifest yet: nothing more to cache */ }
}

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith('roleta-shell-') && n !== CACHE).map((n) => caches.delete(n)));
    await self.clients.claim();
  })());
});

const OFFLINE_PAGE = `<!doctype html><html lang="pt-BR"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Sem conexão — Roleta</title>
<link rel="stylesheet" href="/css/app.css"></head><body><main class="login"><div class="card">
<h1>Sem conexão</h1><p class="sub">Sem conexão — verifique a internet e tente de novo.</p>
<p class="u-center"><a class="btn primary" href="">Tentar de novo</a></p></div></main></body></html>`;

function offline() {
  return new Response(OFFLINE_PAGE, { status: 503, headers: { 'Content-Type': 'text/html; charset=utf-8' } });
}

/** The shell's own files only: pages, scripts, styles, the manifest, images. */
const SHELL_FILE = /(^\/$|\.(html|js|css|webmanifest|png|svg|ico|webp)$)/;
const cacheable = (url, request) => request.method === 'GET' && url.origin === self.location.origin
  && !url.pathname.startsWith('/api/') && url.pathname !== '/ws' && !url.pathname.startsWith('/ws/')
  && SHELL_FILE.test(url.pathname);

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (!cacheable(url, event.request)) return; // the network as usual, never the cache
  event.respondWith((async () => {
    try {
      const res = await fetch(event.request);
      if (res.ok && res.type === 'basic') {
        const copy = res.clone();
        caches.open(CACHE).then((c) => c.put(event.request, copy)).catch(() => {});
      }
      return res;
    } catch {
      const hit = await caches.match(event.request, { ignoreSearch: event.request.mode === 'navigate' });
      if (hit) return hit;
      if (event.request.mode === 'navigate' || event.request.destination === 'document') return offline();
      return Response.error();
    }
  })());
});

// ---------- offers as notifications ----------
const ACTIONS = [{ action: 'accept', title: 'Atender' }, { action: 'refuse', title: 'Recusar' }];

self.addEventListener('push', (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch { data = {}; }
  event.waitUntil(self.registration.showNotification('Novo lead na roleta', {
    body: typeof data.body === 'string' ? data.body : 'Abra a Roleta para responder.',
    tag: `offer-${data.offer_id ?? ''}`,
    renotify: true,
    requireInteraction: true,
    data: { offer_id: data.offer_id },
    actions: data.offer_id != null ? ACTIONS : [],
  }));
});

/**
 * Answers an offer from its notification: `action` is "accept" or "refuse" (anything else only
 * opens the console). Returns the HTTP status (0 without an answer). Exposed on `self` so the
 * browser tests can drive it from the worker, since a NotificationEvent cannot be made by hand.
 */
async function answerFromNotification(data, action) {
  let status = 0;
  const id = Number(data?.offer_id);
  if ((action === 'accept' || action === 'refuse') && Number.isInteger(id) && id > 0) {
    try {
      const res = await fetch(`/api/v1/offers/${id}/${action}`, { method: 'POST', credentials: 'same-origin' });
      status = res.status;
    } catch { status = 0; }
    if (status !== 204) {
      const why = status === 409 ? 'A oferta já tinha terminado.'
        : status === 401 ? 'Entre de novo na Roleta para responder.'
          : 'Não foi possível responder pela notificação.';
      await self.registration.showNotification('Roleta', { body: why, tag: `offer-${id}-answer` }).catch(() => {});
    }
  }
  await focusConsole(action === 'accept' || action === 'refuse' ? 'open' : 'focus');
  return status;
}
self.answerFromNotification = answerFromNotification;

/** Focuses a Roleta page (the console first); opens the console when none is open. */
async function focusConsole(mode) {
  const pages = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const page = pages.find((p) => new URL(p.url).pathname === '/console.html')
    || (mode === 'focus' ? pages.find((p) => new URL(p.url).origin === self.location.origin) : null);
  try {
    if (page) return await page.focus();
    return await self.clients.openWindow('/console.html');
  } catch { return null; /* focusing needs the notification's click; nothing else to do */ }
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(answerFromNotification(event.notification.data, event.action));
});
