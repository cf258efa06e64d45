/* The waiting-room board: live calls by server-sent events, a chime and a flash. ES5. */
(function () {
  'use strict';
  var calls = [];
  var zone = 'Europe/Rome';
  var audio = null;
  var flashes = 0;

  function $(id) { return document.getElementById(id); }

  function chime() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) { return; }
      if (!audio) { audio = new Ctx(); }
      var notes = [659.25, 523.25];
      for (var i = 0; i < notes.length; i++) {
        var osc = audio.createOscillator();
        var gain = audio.createGain();
        var start = audio.currentTime + i * 0.45;
        osc.frequency.value = notes[i];
        gain.gain.setValueAtTime(0.0001, start);
        gain.gain.exponentialRampToValueAtTime(0.5, start + 0.03);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.9);
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(start); osc.stop(start + 1);
      }
    } catch (e) { /* no sound on this browser: the flash still shows the call */ }
  }

  function flash() {
    var el = $('now');
    el.className = '';
    void el.offsetWidth; /* restart the animation */
    el.className = 'flash';
    flashes += 1;
    document.body.setAttribute('data-flashes', String(flashes));
  }

  function render() {
    var current = calls[0];
    $('now-number').textContent = current ? current.number : '---';
    $('now-counter').textContent = current ? '\u2192 ' + current.counter : '';
    var list = $('calls');
    list.innerHTML = '';
    for (var i = 1; i < calls.length && i < 6; i++) {
      var li = document.createElement('li');
      li.textContent = calls[i].number + ' \u2192 ' + calls[i].counter;
      list.appendChild(li);
    }
  }

  function snapshot(data) {
    $('office').textContent = data.office_name;
    zone = data.time_zone || zone;
    calls = data.calls || [];
    render();
  }

  function onCall(call) {
    var kept = [call];
    for (var i = 0; i < calls.length && kept.length < 6; i++) {
      if (calls[i].number !== call.number) { kept.push(calls[i]); }
    }
    calls = kept;
    render();
    flash();
    chime();
  }

  function clock() {
    var now = new Date();
    var text;
    try {
      text = now.toLocaleTimeString('it-IT', { hour: '2-digit', minute: '2-digit', timeZone: zone });
    } catch (e) {
      text = ('0' + now.getHours()).slice(-2) + ':' + ('0' + now.getMinutes()).slice(-2);
    }
    $('clock').textContent = text;
  }

  function poll() {
    var xhr = new XMLHttpRequest();
    xhr.open('GET', '/display/state', true);
    xhr.onreadystatechange = function () {
      if (xhr.readyState !== 4 || xhr.status !== 200) { return; }
      var data = JSON.parse(xhr.responseText);
      var before = calls.length ? calls[0].number + calls[0].at : '';
      snapshot(data);
      var after = calls.length ? calls[0].number + calls[0].at : '';
      if (before && after !== before) { flash(); chime(); }
    };
    xhr.send(null);
  }

  function connect() {
    if (!window.EventSource) {
      poll();
      setInterval(poll, 3000);
      return;
    }
    var source = new EventSource('/display/events');
    source.addEventListener('snapshot', function (e) { snapshot(JSON.parse(e.data)); $('status').textContent = ''; });
    source.addEventListener('call', function (e) { onCall(JSON.parse(e.data)); });
    source.onerror = function () { $('status').textContent = 'Riconnessione...'; };
  }

  clock();
  setInterval(clock, 1000);
  connect();
}());
