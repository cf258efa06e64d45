/* The audit page: citizen logins and certificates issued, newest first. ES5. */
(function () {
  'use strict';
  var S = Sportello;
  var names = { login_started: 'Accesso avviato', login_succeeded: 'Accesso riuscito',
    login_failed: 'Accesso non riuscito', certificate_issued: 'Certificato rilasciato',
    session_ended: 'Sessione terminata' };
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

  function query(before) {
    var q = ['limit=100'];
    var event = S.byId('event').value;
    var cf = S.byId('cf').value.replace(/\s+/g, '');
    if (event) { q.push('event=' + encodeURIComponent(event)); }
    if (cf) { q.push('codice_fiscale=' + encodeURIComponent(cf)); }
    if (before !== null) { q.push('before=' + before); }
    return '/audit/api/events?' + q.join('&');
  }

  function load(append) {
    S.api('GET', query(append ? oldest : null), null, function (err, page) {
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
