/* The waiting-room board: live calls by server-sent events. Calls take turns and never
   overlap: each is shown with a flash and a chime, then said aloud in the voice the hub
   renders (/display/calls/N012.wav, asked for as the call arrives), and only when the
   voice ends does the next call's turn start. ES5. */
(function () {
  'use strict';
  var CHIME_MS = 1500;          /* the chime's two notes */
  var GAP_MS = 500;             /* quiet between two calls */
  var VOICE_WAIT_MS = 8000;     /* a voice still not here after the chime is skipped */
  var VOICE_LIMIT_MS = 30000;   /* a voice that never ends is cut off */
  var calls = [];
  var zone = 'Europe/Rome';
  var audio = null;
  var flashes = 0;
  var speak = false;            /* /display/state's speak_calls */
  var turns = [];               /* calls waiting for their turn: { call, voice } */
  var busy = false;
  var spoken = 0;
  var voiceWarned = false;
  var polled = null;            /* without EventSource: the newest call seen by polling */
  /* The office this board shows (/display?office=CODE in a region's hub): passed on to
     every address the board asks. */
  var office = (function () {
    var match = /[?&]office=([^&#]*)/.exec(window.location.search);
    return match ? '?office=' + match[1] : '';
  })();

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

  /* The hub's voice for a call, fetched now so it is ready when the chime ends. */
  function fetchVoice(number) {
    if (!speak || !window.Audio || !window.URL || !window.URL.createObjectURL) { return null; }
    var voice = { done: false, url: null, ready: null, abandoned: false };
    var xhr = new XMLHttpRequest();
    xhr.open('GET', '/display/calls/' + encodeURIComponent(number) + '.wav' + office, true);
    xhr.responseType = 'blob';
    xhr.onreadystatechange = function () {
      if (xhr.readyState !== 4) { return; }
      if (xhr.status === 200 && xhr.response && !voice.abandoned) {
        voice.url = window.URL.createObjectURL(xhr.response);
      } else if (xhr.status !== 200 && !voiceWarned) {
        /* No espeak-ng on the hub (503), or the call is gone: the chime alone. */
        voiceWarned = true;
        if (window.console) { window.console.warn('calls are not spoken: the hub answered ' + xhr.status); }
      }
      voice.done = true;
      if (voice.ready) { voice.ready(); }
    };
    xhr.send(null);
    return voice;
  }

  function release(voice) {
    if (!voice) { return; }
    voice.abandoned = true;
    voice.ready = null;
    if (voice.url) { window.URL.revokeObjectURL(voice.url); voice.url = null; }
  }

  function counted(call) {
    spoken += 1;
    document.body.setAttribute('data-spoken', String(spoken));
    document.body.setAttribute('data-spoken-last', call.number);
  }

  /* Plays the turn's voice once, then ends the turn (also on any failure). */
  function say(turn) {
    var voice = turn.voice;
    if (!voice) { endTurn(turn); return; }
    if (!voice.done) {
      var wait = setTimeout(function () { endTurn(turn); }, VOICE_WAIT_MS);
      voice.ready = function () { clearTimeout(wait); say(turn); };
      return;
    }
    if (!voice.url) { endTurn(turn); return; }
    var player = new window.Audio();
    var finished = false;
    var started = false;
    var limit = setTimeout(finish, VOICE_LIMIT_MS);
    function finish() {
      if (finished) { return; }
      finished = true;
      clearTimeout(limit);
      player.onplaying = player.onended = player.onerror = null;
      try { player.pause(); } catch (e) { /* already stopped */ }
      endTurn(turn);
    }
    player.onplaying = function () {
      if (!started) { started = true; counted(turn.call); }
    };
    player.onended = finish;
    player.onerror = finish;
    player.src = voice.url;
    var playing;
    try { playing = player.play(); } catch (e) { finish(); return; }
    if (playing && typeof playing.then === 'function') { playing.then(null, finish); }
  }

  function nextTurn() {
    var turn = turns.shift();
    if (!turn) { busy = false; return; }
    busy = true;
    show(turn.call);
    chime();
    setTimeout(function () { say(turn); }, CHIME_MS);
  }

  function endTurn(turn) {
    release(turn.voice);
    setTimeout(nextTurn, GAP_MS);
  }

  function show(call) {
    var kept = [call];
    for (var i = 0; i < calls.length && kept.length < 6; i++) {
      if (calls[i].number !== call.number) { kept.push(calls[i]); }
    }
    calls = kept;
    render();
    flash();
  }

  /* A new call waits for the calls before it to be shown and said. */
  function onCall(call) {
    turns.push({ call: call, voice: fetchVoice(call.number) });
    if (!busy) { nextTurn(); }
  }

  function settings(data) {
    $('office').textContent = data.office_name;
    zone = data.time_zone || zone;
    speak = data.speak_calls === true;
  }

  /* The whole board (on connecting, or after missing events): shown at once, not said. */
  function snapshot(data) {
    settings(data);
    while (turns.length) { release(turns.shift().voice); }
    calls = data.calls || [];
    render();
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

  function newest(list) {
    var at = 0;
    for (var i = 0; i < list.length; i++) { at = Math.max(at, Date.parse(list[i].at) || 0); }
    return at;
  }

  function poll() {
    var xhr = new XMLHttpRequest();
    xhr.open('GET', '/display/state' + office, true);
    xhr.onreadystatechange = function () {
      if (xhr.readyState !== 4 || xhr.status !== 200) { return; }
      var data = JSON.parse(xhr.responseText);
      var list = data.calls || [];
      if (polled === null) {
        snapshot(data);
      } else {
        settings(data);
        /* Calls since the last poll, oldest first, take their turns. */
        for (var i = list.length - 1; i >= 0; i--) {
          if ((Date.parse(list[i].at) || 0) > polled) { onCall(list[i]); }
        }
      }
      polled = Math.max(polled || 0, newest(list));
    };
    xhr.send(null);
  }

  function connect() {
    if (!window.EventSource) {
      poll();
      setInterval(poll, 3000);
      return;
    }
    var source = new EventSource('/display/events' + office);
    source.addEventListener('snapshot', function (e) { snapshot(JSON.parse(e.data)); $('status').textContent = ''; });
    source.addEventListener('call', function (e) { onCall(JSON.parse(e.data)); });
    source.onerror = function () { $('status').textContent = 'Riconnessione...'; };
  }

  clock();
  setInterval(clock, 1000);
  connect();
}());
