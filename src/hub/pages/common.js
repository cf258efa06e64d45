/* Shared helpers for the hub pages. ES5 only: these pages run on old office PCs. */
var Sportello = (function () {
  'use strict';
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
        var message = (data && data.error && data.error.message) || ('Errore ' + xhr.status);
        var code = (data && data.error && data.error.code) || 'http_' + xhr.status;
        done({ status: xhr.status, code: code, message: message }, null);
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
  return { api: api, byId: byId, show: show, text: text };
}());
