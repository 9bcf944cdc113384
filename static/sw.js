// Roleta's service worker: shows an offer as a notification when no page is in front (R8).
self.addEventListener('push', (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch { data = { body: event.data?.text() }; }
  event.waitUntil(self.registration.showNotification(data.title || 'Novo lead na roleta', {
    body: data.body || 'Abra a Roleta para responder.',
    tag: `offer-${data.offer_id ?? ''}`,
    renotify: true,
    requireInteraction: true,
    data,
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil((async () => {
    const pages = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const open = pages.find((p) => p.url.includes('/console.html'));
    if (open) return open.focus();
    return self.clients.openWindow('/console.html');
  })());
});
