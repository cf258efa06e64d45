/* The audit page: citizen logins and certificates issued, newest first. ES5. */
(function () {
  'use strict';
  var S = Sportello;
  var names = { login_started: 'Accesso avviato', login_succeeded: 'Accesso riuscito',
    login_failed: 'Accesso non riuscito', certificate_issued: 'Certificato rilasciato',
    session_ended: 'Sessione terminata', audit_searched: 'Ricerca nel registro' };
  var details = { finished: 'terminata dal totem', expired: 'scaduta', link_reused: 'link già usato',
    link_expired: 'link scaduto', other_browser: 'completato in un altro browser', cancelled: 'annullato',
    no_fiscal_number: 'codice fiscale assente', invalid_fiscal_number: 'codice fiscale non valido',
    insufficient_level: 'livello di autenticazione insufficiente', provider_rejected: 'rifiutato dal gestore',
    provider_unavailable: 'gestore non raggiungibile' };
  var oldest = null;

  function cell(row, text) {
    var td = document.createElement('td');
    td.textContent = text;
    row.appendChild(td);
  }

  function when(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return iso; }
    function two(n) { return ('0' + n).slice(-2); }
    return two(d.getDate()) + '/' + two(d.getMonth() + 1) + '/' + d.getFullYear() + ' ' +
      two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
  }

  /* The filters go in a POST body: a codice fiscale never appears in an address. */
  function search(before) {
    var body = { limit: 100 };
    var event = S.byId('event').value;
    var cf = S.byId('cf').value.replace(/\s+/g, '');
    if (event) { body.event = event; }
    if (cf) { body.codice_fiscale = cf; }
    if (before !== null) { body.before = before; }
    return body;
  }

  function load(append) {
    S.api('POST', '/audit/api/events', search(append ? oldest : null), function (err, page) {
      if (err) {
        if (err.code === 'not_logged_in') { S.show('login', true); S.show('audit', false); return; }
        S.text('error', err.message); return;
      }
      S.text('error', '');
      S.show('login', false); S.show('audit', true);
      var body = S.byId('events');
      if (!append) { body.innerHTML = ''; }
      for (var i = 0; i < page.events.length; i++) {
        var e = page.events[i];
        var row = document.createElement('tr');
        cell(row, when(e.at));
        cell(row, names[e.event] || e.event);
        cell(row, e.kiosk_name ? e.kiosk_name + ' (' + e.kiosk_id + ')' : (e.kiosk_id || '-'));
        cell(row, e.subject || '-');
        cell(row, e.certificate_id || '-');
        cell(row, e.detail ? (details[e.detail] || e.detail) : '');
        cell(row, e.operator || '');
        body.appendChild(row);
        oldest = e.id;
      }
    });
  }

  S.byId('filter').onsubmit = function () { oldest = null; load(false); return false; };
  S.byId('more').onclick = function () { if (oldest !== null) { load(true); } };
  S.login(function () { load(false); });
  load(false);
}());
