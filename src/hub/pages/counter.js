/* The counter page: log in, choose counter and services, call and close tickets. ES5. */
(function () {
  'use strict';
  var S = Sportello;
  var state = null;
  var choosing = false;

  function fail(err) {
    if (err && err.code === 'not_logged_in') { render(null); return; }
    S.text('error', err ? err.message : '');
  }

  function refresh() {
    S.api('GET', '/counter/api/state', null, function (err, data) {
      if (err) { fail(err); return; }
      render(data);
    });
  }

  function render(data) {
    state = data;
    if (!data) {
      S.show('login', true); S.show('setup', false); S.show('work', false);
      S.text('who', '');
      return;
    }
    S.text('who', '- ' + data.operator);
    S.show('login', false);
    var setup = choosing || !data.counter;
    S.show('setup', setup);
    S.show('work', !setup);
    if (setup) { fillSetup(data); } else { fillWork(data); }
  }

  function fillSetup(data) {
    var select = S.byId('counter');
    select.innerHTML = '';
    var i, option;
    for (i = 0; i < data.counters.length; i++) {
      option = document.createElement('option');
      option.value = data.counters[i];
      option.textContent = data.counters[i];
      if (data.counters[i] === data.counter) { option.selected = true; }
      select.appendChild(option);
    }
    var list = S.byId('service-list');
    list.innerHTML = '';
    for (i = 0; i < data.services.length; i++) {
      var s = data.services[i];
      var label = document.createElement('label');
      var box = document.createElement('input');
      box.type = 'checkbox';
      box.value = s.code;
      box.id = 'svc-' + s.code;
      box.checked = data.selected.indexOf(s.code) >= 0;
      label.appendChild(box);
      label.appendChild(document.createTextNode(' ' + s.prefix + ' - ' + s.name));
      list.appendChild(label);
    }
  }

  function fillWork(data) {
    S.text('counter-name', data.counter);
    var c = data.current;
    var names = {};
    for (var n = 0; n < data.services.length; n++) {
      names[data.services[n].code] = data.services[n].name;
    }
    S.text('current', c ? c.number : '-');
    S.text('current-info', c ? ((names[c.service] || c.service) + (c.priority ? ' - priorità' : '') +
      (c.appointment ? ' - appuntamento' : '') + ' - ' +
      (c.status === 'called' ? 'chiamato' : 'allo sportello')) : 'Nessun biglietto in corso');
    // Given at the kiosk to identify the citizen; only this counter's ticket carries it.
    S.text('current-cf', c && c.codice_fiscale ? 'Codice fiscale: ' + c.codice_fiscale : '');
    S.byId('next').disabled = !!c;
    S.byId('recall').disabled = !c || c.status !== 'called';
    S.byId('serving').disabled = !c || c.status !== 'called';
    S.byId('done').disabled = !c;
    S.byId('no-show').disabled = !c || c.status !== 'called';
    S.byId('transfer').disabled = !c;
    var transfer = S.byId('transfer-service');
    var keep = transfer.value;
    transfer.innerHTML = '';
    var tbody = S.byId('waiting');
    tbody.innerHTML = '';
    for (var i = 0; i < data.services.length; i++) {
      var s = data.services[i];
      var option = document.createElement('option');
      option.value = s.code;
      option.textContent = s.prefix + ' - ' + s.name;
      transfer.appendChild(option);
      if (data.selected.indexOf(s.code) >= 0) {
        var row = document.createElement('tr');
        var name = document.createElement('td');
        name.textContent = s.prefix + ' - ' + s.name;
        var count = document.createElement('td');
        count.textContent = String(s.waiting);
        count.id = 'waiting-' + s.code;
        row.appendChild(name); row.appendChild(count);
        tbody.appendChild(row);
      }
    }
    if (keep) { transfer.value = keep; }
    var voided = S.byId('void');
    voided.innerHTML = '';
    for (var v = 0; v < data.void.length; v++) {
      var item = document.createElement('li');
      item.textContent = data.void[v].number + ' - ' +
        (names[data.void[v].service] || data.void[v].service) + ' (chiosco ' + data.void[v].kiosk_id + ')';
      voided.appendChild(item);
    }
    S.byId('void-box').hidden = data.void.length === 0;
  }

  function action(path, body) {
    return function () {
      S.text('error', '');
      S.api('POST', '/counter/api/' + path, body ? body() : {}, function (err, data) {
        if (err) { fail(err); }
        if (!err && path === 'next' && data && !data.ticket) {
          S.text('error', 'Nessuno in attesa per i servizi scelti.');
        }
        refresh();
      });
    };
  }

  S.login(refresh);

  S.byId('setup').onsubmit = function () {
    var boxes = S.byId('service-list').getElementsByTagName('input');
    var chosen = [];
    for (var i = 0; i < boxes.length; i++) { if (boxes[i].checked) { chosen.push(boxes[i].value); } }
    var choice = { counter: S.byId('counter').value, services: chosen };
    function send(takeOver) {
      choice.take_over = takeOver;
      S.api('POST', '/counter/api/setup', choice, function (err) {
        // Another clerk works at this counter: take it over only when asked to.
        if (err && err.code === 'counter_taken' && !takeOver) {
          if (window.confirm(err.message)) { send(true); } else { fail(err); }
          return;
        }
        if (err) { fail(err); return; }
        choosing = false;
        S.text('error', '');
        refresh();
      });
    }
    send(false);
    return false;
  };

  S.byId('next').onclick = action('next');
  S.byId('recall').onclick = action('recall');
  S.byId('serving').onclick = action('serving');
  S.byId('done').onclick = action('done');
  S.byId('no-show').onclick = action('no-show');
  S.byId('transfer').onclick = action('transfer', function () {
    return { service: S.byId('transfer-service').value };
  });
  S.byId('change').onclick = function () { choosing = true; render(state); };
  S.byId('logout').onclick = function () {
    S.api('POST', '/counter/api/logout', {}, function () { render(null); });
  };

  refresh();
  /* Not while the set-up form is open: re-filling it would undo the clerk's choices. */
  setInterval(function () { if (state && state.counter && !choosing) { refresh(); } }, 5000);
}());
