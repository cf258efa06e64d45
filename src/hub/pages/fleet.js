/* The fleet page: every kiosk's health, taking one out of service, and software rollouts
   (started and stopped by a maintainer). ES5. */
(function () {
  'use strict';
  var S = Sportello;
  var printerText = { ok: 'OK', paper_near_end: 'Carta in esaurimento', paper_out: 'Carta finita',
    error: 'Errore', offline: 'Non risponde' };
  var updateText = { waiting: 'in attesa del suo turno', offered: 'offerto', downloading: 'in download',
    installed: 'installato, riavvio in attesa', booted: 'avviato, in verifica', good: 'aggiornato',
    rolled_back: 'tornato alla versione precedente', failed: 'non riuscito' };

  function cell(row, text, cls) {
    var td = document.createElement('td');
    td.textContent = text;
    if (cls) { td.className = cls; }
    row.appendChild(td);
    return td;
  }

  function when(iso) {
    if (!iso) { return 'mai'; }
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return iso; }
    function two(n) { return ('0' + n).slice(-2); }
    return two(d.getDate()) + '/' + two(d.getMonth() + 1) + ' ' + two(d.getHours()) + ':' +
      two(d.getMinutes()) + ':' + two(d.getSeconds());
  }

  function load() {
    S.api('GET', '/fleet/api/kiosks', null, function (err, kiosks) {
      if (err) {
        if (err.code === 'not_logged_in') { S.show('login', true); S.show('fleet', false); return; }
        S.text('error', err.message); return;
      }
      S.show('login', false); S.show('fleet', true);
      loadUpdates();
      var body = S.byId('kiosks');
      body.innerHTML = '';
      for (var i = 0; i < kiosks.length; i++) {
        var k = kiosks[i];
        var row = document.createElement('tr');
        row.id = 'kiosk-' + k.kiosk_id;
        cell(row, k.name + ' (' + k.kiosk_id + ')');
        cell(row, k.version || '-');
        var contact = when(k.last_seen || k.last_heartbeat);
        if (k.clock_wrong) {
          var minutes = Math.round(k.clock_offset_seconds / 60);
          contact += ' \u2013 orologio del totem ' + (minutes > 0 ? 'avanti' : 'indietro') + ' di ' +
            Math.abs(minutes) + ' min';
        }
        cell(row, contact, (k.online && !k.clock_wrong) ? '' : 'warn');
        var p = k.printer || '';
        cell(row, (printerText[p] || '-') + (k.printer_detail ? ' (' + k.printer_detail + ')' : ''),
          p === 'paper_near_end' ? 'warn' : (p && p !== 'ok' ? 'bad' : ''));
        var depth = k.outbox_depth === null || k.outbox_depth === undefined ? '-' : String(k.outbox_depth);
        if (k.outbox_depth > 0 && k.oldest_pending_seconds !== null && k.oldest_pending_seconds !== undefined) {
          depth += ' (da ' + Math.round(k.oldest_pending_seconds / 60) + ' min)';
        }
        cell(row, depth, k.outbox_depth > 0 ? 'warn' : '');
        cell(row, k.disabled ? 'Fuori servizio' : (k.online ? 'In linea' : 'Non in linea'),
          k.disabled ? 'bad' : '');
        var u = k.update;
        var updateCell = '-';
        if (u) {
          updateCell = u.version + ': ' + (updateText[u.state] || u.state) +
            (u.booted_slot ? ' (slot ' + u.booted_slot + ')' : '') + (u.detail ? ' \u2013 ' + u.detail : '');
        }
        cell(row, updateCell, u && (u.state === 'rolled_back' || u.state === 'failed') ? 'bad' :
          (u && u.state !== 'good' && u.state !== 'waiting' ? 'warn' : ''));
        var td = cell(row, '');
        var button = document.createElement('button');
        button.type = 'button';
        button.className = k.disabled ? '' : 'danger';
        button.textContent = k.disabled ? 'Riattiva' : 'Metti fuori servizio';
        button.setAttribute('aria-label', button.textContent + ' ' + k.name);
        button.onclick = toggle(k.kiosk_id, !k.disabled);
        td.appendChild(button);
        body.appendChild(row);
      }
    });
  }

  var rolloutText = { running: 'in corso', stopped: 'fermata', done: 'completata' };

  // The bundles and the latest rollout; the form only for a clerk who may roll out.
  function loadUpdates() {
    S.api('GET', '/fleet/api/updates', null, function (err, view) {
      if (err) { return; }
      var r = view.rollout;
      var status = 'Nessuna distribuzione avviata.';
      if (r) {
        var good = 0;
        for (var i = 0; i < r.targets.length; i++) { if (r.targets[i].state === 'good') { good++; } }
        status = 'Ultima distribuzione: versione ' + r.version + ', ' + (rolloutText[r.state] || r.state) +
          ' (' + good + ' di ' + r.targets.length + ' totem aggiornati)' +
          (r.stop_reason ? ' \u2013 ' + r.stop_reason : '') + '.';
      }
      S.text('rollout-status', status);
      S.show('no-bundles', view.bundles.length === 0);
      S.show('rollout', view.can_roll_out && view.bundles.length > 0);
      S.byId('stop-rollout').disabled = !(r && r.state === 'running');
      var select = S.byId('bundle');
      var chosen = select.value;
      var versions = [];
      for (var j = 0; j < view.bundles.length; j++) { versions.push(view.bundles[j].version); }
      if (select.getAttribute('data-versions') !== versions.join(' ')) {
        select.innerHTML = '';
        for (var k = 0; k < view.bundles.length; k++) {
          var b = view.bundles[k];
          var option = document.createElement('option');
          option.value = b.version;
          option.textContent = b.version + ' (' + Math.round(b.size / 1048576) + ' MB)';
          select.appendChild(option);
        }
        select.setAttribute('data-versions', versions.join(' '));
        if (chosen) { select.value = chosen; }
      }
    });
  }

  S.byId('rollout').onsubmit = function () {
    var names = S.byId('rollout-kiosks').value.split(',');
    var kiosks = [];
    for (var i = 0; i < names.length; i++) {
      var name = names[i].replace(/^\s+|\s+$/g, '');
      if (name) { kiosks.push(name); }
    }
    S.api('POST', '/fleet/api/updates/rollout', {
      version: S.byId('bundle').value,
      kiosks: kiosks,
      canary: parseInt(S.byId('canary').value, 10) || 0,
      percent: parseInt(S.byId('percent').value, 10) || 25
    }, function (err) {
      S.text('error', err ? err.message : '');
      load();
    });
    return false;
  };

  S.byId('stop-rollout').onclick = function () {
    S.api('POST', '/fleet/api/updates/stop', {}, function (err) {
      S.text('error', err ? err.message : '');
      load();
    });
  };

  function toggle(id, disabled) {
    return function () {
      S.api('POST', '/fleet/api/kiosks/' + encodeURIComponent(id) + '/disabled',
        { disabled: disabled }, function (err) { if (err) { S.text('error', err.message); } load(); });
    };
  }

  S.login(load);

  load();
  setInterval(load, 10000);
}());
