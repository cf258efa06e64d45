/* Shared helpers for the hub pages. ES5 only: these pages run on old office PCs. */
var Sportello = (function () {
  'use strict';
  // The API answers in English for programs; clerks read these pages in Italian. Codes
  // not listed here show the server's own message.
  var italian = {
    bad_credentials: 'Nome o password errati.',
    too_many_attempts: 'Troppi tentativi errati per questo nome: riprovare tra {s} secondi.',
    not_logged_in: 'Sessione scaduta: accedere di nuovo.',
    unknown_counter: 'Sportello sconosciuto: sceglierne uno dall\u2019elenco.',
    no_services: 'Scegliere almeno un servizio.',
    no_counter: 'Scegliere prima lo sportello e i servizi.',
    no_current_ticket: 'Nessun biglietto chiamato a questo sportello.',
    counter_taken: 'Un altro operatore lavora a questo sportello. Prenderlo? La sua pagina lo perder\u00e0.',
    finish_current: 'C\u2019\u00e8 ancora un biglietto aperto a questo sportello: segnarlo servito o assente.',
    busy: 'La coda \u00e8 appena cambiata: chiamare di nuovo.',
    already_serving: 'Il biglietto \u00e8 gi\u00e0 allo sportello.',
    unknown_service: 'Servizio sconosciuto.',
    unknown_kiosk: 'Totem sconosciuto.',
    bad_codice_fiscale: 'Il codice fiscale del filtro non \u00e8 valido.'
  };
  function message(code, fallback, retryAfter) {
    var text = italian[code];
    if (!text) { return fallback; }
    return text.replace('{s}', retryAfter || '?');
  }
  function api(method, url, body, done) {
    var xhr = new XMLHttpRequest();
    xhr.open(method, url, true);
    xhr.setRequestHeader('Accept', 'application/json');
    if (body !== null) {
      xhr.setRequestHeader('Content-Type', 'application/json');
    }
    xhr.onreadystatechange = function () {
      if (xhr.readyState !== 4) { return; }
      var data = null;
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
      if (xhr.status >= 200 && xhr.status < 300) {
        done(null, data);
      } else {
        var serverMessage = (data && data.error && data.error.message) || ('Errore ' + xhr.status);
        var code = (data && data.error && data.error.code) || 'http_' + xhr.status;
        done({ status: xhr.status, code: code,
          message: message(code, serverMessage, xhr.getResponseHeader('Retry-After')) }, null);
      }
    };
    xhr.send(body === null ? null : JSON.stringify(body));
  }
  function byId(id) { return document.getElementById(id); }
  function show(id, visible) {
    var el = byId(id);
    if (!el) { return; }
    el.className = el.className.replace(/\s*hidden/g, '') + (visible ? '' : ' hidden');
  }
  function text(id, value) { var el = byId(id); if (el) { el.textContent = value; } }
  // The clerk login form the counter, fleet and audit pages share (#login, #name,
  // #password, #error); `done` runs once signed in.
  function login(done) {
    byId('login').onsubmit = function () {
      text('error', '');
      api('POST', '/counter/api/login', { name: byId('name').value, password: byId('password').value },
        function (err) {
          byId('password').value = '';
          if (err) { text('error', err.message); return; }
          done();
        });
      return false;
    };
  }
  return { api: api, byId: byId, show: show, text: text, login: login };
}());
