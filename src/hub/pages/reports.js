/* The reports page: log in, then choose the period; the report itself is a page the hub
   draws (/reports/view), printable and readable without script. ES5. */
(function () {
  'use strict';
  var S = Sportello;
  function start() {
    S.api('GET', '/counter/api/state', null, function (err) {
      if (err && err.code === 'not_logged_in') { S.show('login', true); S.show('choose', false); return; }
      if (err) { S.text('error', err.message); return; }
      S.show('login', false); S.show('choose', true);
    });
  }
  S.login(start);
  start();
})();
