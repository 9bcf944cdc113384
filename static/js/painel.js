// The operators' wallboard: a server-sent-events stream delivers a fresh snapshot every
// second; countdowns and ages tick locally between snapshots, corrected by the server's clock.
import { me, topbar, esc, ago, managerNav } from './api.js';

const $ = (id) => document.getElementById(id);
let snapshot = null;
let offset = 0;

function render() {
  if (!snapshot) return;
  const now = Date.now() + offset;
  $('board').innerHTML = snapshot.departments.map((d) => `
    <section class="card dept" data-dept="${esc(d.name)}">
      <h2>${esc(d.name)} <span class="muted u-small">${d.online.length} on-line</span></h2>
      <div class="chips" aria-label="Corretores on-line">${d.online.map((n) => `<span class="chip">${esc(n)}</span>`).join('') || '<span class="muted">ninguém on-line</span>'}</div>
      <div class="kpis">
        <div class="kpi"><div class="v" data-k="waiting">${d.waiting}</div><div class="l">aguardando${d.oldest_waiting_ms ? ` · ${ago(now - d.oldest_waiting_ms)}` : ''}</div></div>
        <div class="kpi"><div class="v" data-k="accepted">${d.last_hour.accepted}</div><div class="l">atendidos (1 h)</div></div>
        <div class="kpi"><div class="v" data-k="refused">${d.last_hour.refused}</div><div class="l">recusados (1 h)</div></div>
        <div class="kpi"><div class="v" data-k="expired">${d.last_hour.expired}</div><div class="l">expirados (1 h)</div></div>
      </div>
      <div class="muted u-small">Tempo até atender: p50 <b data-k="p50">${d.time_to_accept_p50_ms == null ? '—' : ago(d.time_to_accept_p50_ms)}</b>
        · p90 <b data-k="p90">${d.time_to_accept_p90_ms == null ? '—' : ago(d.time_to_accept_p90_ms)}</b></div>
      <h3 class="u-h-small">Ofertas em andamento</h3>
      <div class="flights" data-k="flights">${d.in_flight.map((f) => `<div class="flight"><span>${esc(f.broker)}</span><span class="secs">${Math.max(0, Math.ceil((f.deadline_ms - now) / 1000))} s</span></div>`).join('') || '<span class="muted">nenhuma</span>'}</div>
      <h3 class="u-h-small">Última hora</h3>
      <canvas class="chart" data-chart="${d.id}" role="img" aria-label="Ofertas e atendimentos por minuto na última hora"></canvas>
      <div class="legend"><span><i class="swatch-offers"></i>ofertas</span><span><i class="swatch-accepted"></i>atendidos</span></div>
    </section>`).join('');
  for (const d of snapshot.departments) draw(document.querySelector(`[data-chart="${d.id}"]`), d.minutes);
}

function draw(canvas, minutes) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  canvas.width = w * dpr;
  canvas.height = h * dpr;
  const g = canvas.getContext('2d');
  g.scale(dpr, dpr);
  const max = Math.max(1, ...minutes.map((m) => m.offered));
  const bw = w / minutes.length;
  g.strokeStyle = '#e2e6ee';
  g.beginPath(); g.moveTo(0, h - 0.5); g.lineTo(w, h - 0.5); g.stroke();
  minutes.forEach((m, i) => {
    const oh = (m.offered / max) * (h - 14);
    const ah = (m.accepted / max) * (h - 14);
    g.fillStyle = '#c9d6f6';
    g.fillRect(i * bw + 1, h - oh, bw - 2, oh);
    g.fillStyle = '#1c8c4e';
    g.fillRect(i * bw + bw * 0.25, h - ah, bw * 0.5, ah);
  });
  g.fillStyle = '#5b6475';
  g.font = '11px system-ui';
  g.fillText(`máx ${max}/min`, 4, 11);
}

function stream() {
  const es = new EventSource('/api/v1/ops/stream');
  es.addEventListener('open', () => { $('conn').dataset.state = 'open'; $('conn').textContent = 'Ao vivo'; });
  es.addEventListener('wallboard', (e) => {
    snapshot = JSON.parse(e.data);
    offset = snapshot.server_time_ms - Date.now();
    render();
    document.body.dataset.updated = String(snapshot.server_time_ms);
  });
  es.addEventListener('error', () => { $('conn').dataset.state = 'reconnecting'; $('conn').textContent = 'Reconectando…'; });
}

const { user } = await me();
if (!['manager', 'admin', 'ops'].includes(user.role)) location.href = '/';
if (user.role !== 'ops') {
  $('nav').innerHTML = managerNav('/painel.html');
}
topbar(user);
stream();
setInterval(render, 1000);
