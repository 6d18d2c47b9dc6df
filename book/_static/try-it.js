/* The "Try it" page: draw a digit, prepare it as MNIST's digits were, and run
   the book's three trained networks on it, in the browser.

   The preparation is the arithmetic of mnist_lessons/data/drawing.py, step by step
   (the browser tests compare the two), and the forward pass reads the layers
   that mnist_lessons/training/export.py wrote at build time. Nothing leaves the
   page: the weights come from the site itself, by relative URL, as NAME.json
   and NAME.bin (the .bin URL carries its SHA-256, so no cache serves an old
   copy), or, for a page opened from disk (file://, where fetch is refused), as
   the script NAME.js. Either way the weights must match the SHA-256 in the JSON.

   window.mnistTryIt offers, for tests and curious readers:
     ready                        a Promise, resolved once the weights are loaded
     prepare(strokes, w, h, r)    28 x 28 image (784 numbers) of pen strokes
     predict(pixels)              {linear: [10], multilayer: [10], cnn: [10]}
     show(pixels)                 predict and display, as drawing does
     sha256(bytes)                hex SHA-256 of a Uint8Array                */
(function () {
  "use strict";

  var FIELD = 28, BOX = 20, GRID = 280, PEN_RADIUS = 9;
  var NETWORKS = ["linear", "multilayer", "cnn"];
  var scriptUrl = document.currentScript ? document.currentScript.src : window.location.href;

  // --- preparation (mnist_lessons.data.drawing) -----------------------------------

  function renderSegment(ink, width, height, x0, y0, x1, y1, radius) {
    var reach = radius + 0.5;
    var c0 = Math.max(Math.floor(Math.min(x0, x1) - reach), 0);
    var c1 = Math.min(Math.ceil(Math.max(x0, x1) + reach), width);
    var r0 = Math.max(Math.floor(Math.min(y0, y1) - reach), 0);
    var r1 = Math.min(Math.ceil(Math.max(y0, y1) + reach), height);
    var dx = x1 - x0, dy = y1 - y0, length2 = dx * dx + dy * dy;
    for (var r = r0; r < r1; r++) {
      var py = r + 0.5;
      for (var c = c0; c < c1; c++) {
        var px = c + 0.5;
        var t = 0;
        if (length2 > 0) t = Math.min(Math.max(((px - x0) * dx + (py - y0) * dy) / length2, 0), 1);
        var ex = px - (x0 + t * dx), ey = py - (y0 + t * dy);
        var value = Math.min(Math.max(reach - Math.sqrt(ex * ex + ey * ey), 0), 1);
        var i = r * width + c;
        if (value > ink[i]) ink[i] = value;
      }
    }
  }

  function renderStroke(ink, width, height, stroke, radius) {
    if (stroke.length === 1) {
      renderSegment(ink, width, height, stroke[0][0], stroke[0][1], stroke[0][0], stroke[0][1], radius);
    }
    for (var i = 1; i < stroke.length; i++) {
      renderSegment(ink, width, height, stroke[i - 1][0], stroke[i - 1][1], stroke[i][0], stroke[i][1], radius);
    }
  }

  function renderStrokes(strokes, width, height, radius) {
    var ink = new Float64Array(width * height);
    strokes.forEach(function (stroke) { renderStroke(ink, width, height, stroke, radius); });
    return ink;
  }

  /* out x size matrix (row-major) averaging size pixels into out. */
  function areaWeights(size, out) {
    var scale = size / out, w = new Float64Array(out * size);
    for (var i = 0; i < out; i++) {
      var start = i * scale, end = (i + 1) * scale;
      for (var j = Math.floor(start); j < Math.min(Math.ceil(end), size); j++) {
        w[i * size + j] = (Math.min(end, j + 1) - Math.max(start, j)) / scale;
      }
    }
    return w;
  }

  function fitAndCentre(ink, width, height) {
    var field = new Float64Array(FIELD * FIELD);
    var top = height, bottom = -1, left = width, right = -1;
    for (var r = 0; r < height; r++) {
      for (var c = 0; c < width; c++) {
        if (ink[r * width + c] > 0) {
          if (r < top) top = r;
          if (r > bottom) bottom = r;
          if (c < left) left = c;
          if (c > right) right = c;
        }
      }
    }
    if (bottom < 0) return field;
    var h = bottom + 1 - top, w = right + 1 - left, side = Math.max(h, w);
    var dy = Math.floor((side - h) / 2), dx = Math.floor((side - w) / 2);
    var square = new Float64Array(side * side);
    for (r = 0; r < h; r++) {
      for (c = 0; c < w; c++) square[(r + dy) * side + c + dx] = ink[(r + top) * width + c + left];
    }
    var a = areaWeights(side, BOX);
    var half = new Float64Array(BOX * side);  // a @ square
    for (var i = 0; i < BOX; i++) {
      for (var k = 0; k < side; k++) {
        var aik = a[i * side + k];
        if (aik === 0) continue;
        for (var j = 0; j < side; j++) half[i * side + j] += aik * square[k * side + j];
      }
    }
    var offset = (FIELD - BOX) / 2;
    for (i = 0; i < BOX; i++) {
      for (j = 0; j < BOX; j++) {
        var s = 0;
        for (k = 0; k < side; k++) s += half[i * side + k] * a[j * side + k];
        field[(i + offset) * FIELD + j + offset] = s;
      }
    }
    var total = 0, my = 0, mx = 0;
    for (r = 0; r < FIELD; r++) {
      for (c = 0; c < FIELD; c++) {
        var v = field[r * FIELD + c];
        total += v; my += v * (r + 0.5); mx += v * (c + 0.5);
      }
    }
    var down = Math.floor(FIELD / 2 - my / total + 0.5), across = Math.floor(FIELD / 2 - mx / total + 0.5);
    var moved = new Float64Array(FIELD * FIELD);
    for (r = 0; r < FIELD; r++) {
      for (c = 0; c < FIELD; c++) {
        var sr = r - down, sc = c - across;
        if (sr >= 0 && sr < FIELD && sc >= 0 && sc < FIELD) moved[r * FIELD + c] = field[sr * FIELD + sc];
      }
    }
    return moved;
  }

  function prepare(strokes, width, height, radius) {
    width = width || GRID; height = height || GRID; radius = radius || PEN_RADIUS;
    var image = fitAndCentre(renderStrokes(strokes, width, height, radius), width, height);
    return Array.from(image, Math.fround);  // float32, as drawing.py returns
  }

  // --- the forward pass (mnist_lessons.training.export.to_torch) ----------------------

  function forward(net, pixels) {
    var w = net.weights, shape = net.meta.input.slice(), x = Float64Array.from(pixels);
    function span(s) { return w.subarray(s[0], s[0] + s[1]); }
    net.meta.layers.forEach(function (layer) {
      var out, o, i;
      if (layer.type === "linear") {
        var W = span(layer.weight), b = span(layer.bias);
        out = new Float64Array(layer.out);
        for (o = 0; o < layer.out; o++) {
          var s = b[o], row = o * layer.in;
          for (i = 0; i < layer.in; i++) s += W[row + i] * x[i];
          out[o] = s;
        }
        shape = [layer.out];
      } else if (layer.type === "conv") {
        var K = span(layer.weight), bias = span(layer.bias), k = layer.kernel, pad = (k - 1) / 2;
        var C = shape[0], H = shape[1], Wd = shape[2];
        out = new Float64Array(layer.out * H * Wd);
        for (o = 0; o < layer.out; o++) {
          for (var y = 0; y < H; y++) {
            for (var xx = 0; xx < Wd; xx++) {
              var acc = bias[o];
              for (var c = 0; c < C; c++) {
                for (var ky = 0; ky < k; ky++) {
                  var iy = y + ky - pad;
                  if (iy < 0 || iy >= H) continue;
                  for (var kx = 0; kx < k; kx++) {
                    var ix = xx + kx - pad;
                    if (ix < 0 || ix >= Wd) continue;
                    acc += K[((o * C + c) * k + ky) * k + kx] * x[(c * H + iy) * Wd + ix];
                  }
                }
              }
              out[(o * H + y) * Wd + xx] = acc;
            }
          }
        }
        shape = [layer.out, H, Wd];
      } else if (layer.type === "relu") {
        out = x.map(function (v) { return v > 0 ? v : 0; });
      } else if (layer.type === "maxpool") {
        var p = layer.size, Cm = shape[0], h2 = Math.floor(shape[1] / p), w2 = Math.floor(shape[2] / p);
        out = new Float64Array(Cm * h2 * w2);
        for (var cm = 0; cm < Cm; cm++) {
          for (var r = 0; r < h2; r++) {
            for (var q = 0; q < w2; q++) {
              var m = -Infinity;
              for (var dy = 0; dy < p; dy++) {
                for (var dx = 0; dx < p; dx++) m = Math.max(m, x[(cm * shape[1] + r * p + dy) * shape[2] + q * p + dx]);
              }
              out[(cm * h2 + r) * w2 + q] = m;
            }
          }
        }
        shape = [Cm, h2, w2];
      } else {
        throw new Error("unknown layer type " + layer.type);
      }
      x = out;
    });
    var max = Math.max.apply(null, x), sum = 0;
    var e = Array.from(x, function (v) { var z = Math.exp(v - max); sum += z; return z; });
    return e.map(function (z) { return z / sum; });
  }

  // --- loading the weights, checked by SHA-256 --------------------------------

  /* SHA-256 (FIPS 180-4), written out because crypto.subtle exists only on https
     and localhost pages. Constants: fractional parts of square and cube roots of primes. */
  var SHA_H = [], SHA_K = [];
  (function () {
    for (var n = 2; SHA_K.length < 64; n++) {
      for (var d = 2; d * d <= n && n % d; d++);
      if (d * d > n) {
        if (SHA_H.length < 8) SHA_H.push(((Math.sqrt(n) % 1) * 4294967296) | 0);
        SHA_K.push(((Math.cbrt(n) % 1) * 4294967296) | 0);
      }
    }
  })();

  function rotr(x, r) { return (x >>> r) | (x << (32 - r)); }

  function sha256(bytes) {
    var n = bytes.length, words = new Int32Array((((n + 8) >> 6) + 1) * 16), w = new Int32Array(64), i;
    for (i = 0; i < n; i++) words[i >> 2] |= bytes[i] << (24 - 8 * (i & 3));
    words[n >> 2] |= 0x80 << (24 - 8 * (n & 3));
    words[words.length - 2] = Math.floor(n / 0x20000000);
    words[words.length - 1] = n << 3;
    var h = SHA_H.slice();
    for (var block = 0; block < words.length; block += 16) {
      var a = h[0], b = h[1], c = h[2], e = h[4], f = h[5], g = h[6], dd = h[3], hh = h[7];
      for (i = 0; i < 64; i++) {
        if (i < 16) {
          w[i] = words[block + i];
        } else {
          var x = w[i - 15], y = w[i - 2];
          w[i] = (rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3)) + w[i - 16] + (rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10)) + w[i - 7];
        }
        var t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + SHA_K[i] + w[i] | 0;
        var t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c)) | 0;
        hh = g; g = f; f = e; e = dd + t1 | 0; dd = c; c = b; b = a; a = t1 + t2 | 0;
      }
      [a, b, c, dd, e, f, g, hh].forEach(function (v, k) { h[k] = h[k] + v | 0; });
    }
    return h.map(function (v) { return (v >>> 0).toString(16).padStart(8, "0"); }).join("");
  }

  var networks = {};

  /* The weights of network name, once their length and SHA-256 match its description; where names the file,
     mismatch what to say if the SHA-256 differs. */
  function accept(name, meta, bytes, where, mismatch) {
    if (bytes.length !== 4 * meta.floats) throw new Error(where + " is not " + meta.floats + " floats");
    if (sha256(bytes) !== meta.sha256) throw new Error(where + mismatch);
    var view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length), weights = new Float32Array(meta.floats);
    for (var i = 0; i < meta.floats; i++) weights[i] = view.getFloat32(4 * i, true);
    networks[name] = {meta: meta, weights: weights};
  }

  function fetchFiles(name) {
    var url = new URL("try-it/" + name + ".json", scriptUrl);
    return fetch(url, {cache: "no-cache"}).then(function (r) {
      if (!r.ok) throw new Error(url + ": HTTP " + r.status);
      return r.json();
    }).then(function (meta) {
      return fetch(new URL(meta.weights + "?sha256=" + meta.sha256, url)).then(function (r) {
        if (!r.ok) throw new Error(meta.weights + ": HTTP " + r.status);
        return r.arrayBuffer();
      }).then(function (buffer) {
        accept(name, meta, new Uint8Array(buffer), meta.weights, " does not match the SHA-256 in " + name +
               ".json (a damaged or outdated copy): reload without the cache (Shift+reload) or rebuild the book");
      });
    });
  }

  /* From disk: try-it/NAME.js sets window.mnistTryItFiles[NAME] = {meta, weights (base64)}. */
  function scriptFiles(name) {
    var file = "try-it/" + name + ".js";
    return new Promise(function (resolve, reject) {
      var tag = document.createElement("script");
      tag.onload = function () {
        var files = (window.mnistTryItFiles || {})[name];
        if (files) resolve(files); else reject(new Error(file + " does not define the " + name + " network"));
      };
      tag.onerror = function () { reject(new Error(file + " could not be read: rebuild the book")); };
      tag.src = new URL(file, scriptUrl);
      document.head.appendChild(tag);
    }).then(function (files) {
      var bytes = Uint8Array.from(atob(files.weights), function (ch) { return ch.charCodeAt(0); });
      accept(name, files.meta, bytes, file, " is damaged (its weights do not match their SHA-256): rebuild the book");
    });
  }

  var load = new URL(scriptUrl).protocol === "file:" ? scriptFiles : fetchFiles;

  function predict(pixels) {
    if (pixels.length !== FIELD * FIELD) throw new Error("predict takes 784 pixels, got " + pixels.length);
    var result = {};
    NETWORKS.forEach(function (name) { result[name] = forward(networks[name], pixels); });
    return result;
  }

  // --- the page ---------------------------------------------------------------

  var root = document.getElementById("try-it");
  var api = {prepare: prepare, predict: predict, sha256: sha256, show: function () {}, loadedAt: null};
  api.ready = Promise.all(NETWORKS.map(load)).then(function () {
    api.loadedAt = performance.now();
  });
  window.mnistTryIt = api;
  if (!root) return;

  root.querySelectorAll("[data-network]").forEach(function (box) {
    var list = box.querySelector("ol");
    for (var digit = 0; digit < 10; digit++) {
      var li = document.createElement("li");
      li.innerHTML = '<span class="try-it-track"><span class="try-it-bar"></span></span>' +
        '<span class="try-it-label">' + digit + '<span class="try-it-sr">: <span class="try-it-value">no drawing</span></span></span>';
      list.appendChild(li);
    }
  });

  var canvas = root.querySelector(".try-it-canvas");
  var ctx = canvas.getContext("2d");
  var seen = root.querySelector(".try-it-seen");
  var seenCtx = seen.getContext("2d");
  var status = root.querySelector(".try-it-status");
  var ink = new Float64Array(GRID * GRID);
  var strokes = [], drawing = null, pending = false;

  // Grey values in [0, 1], one per pixel of a side x side grid, onto a canvas context.
  function paintGrey(context, values, side) {
    var img = context.createImageData(side, side);
    for (var i = 0; i < values.length; i++) {
      var v = Math.round(255 * values[i]);
      img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
      img.data[4 * i + 3] = 255;
    }
    context.putImageData(img, 0, 0);
  }

  function paint() { paintGrey(ctx, ink, GRID); }

  function paintSeen(pixels) { paintGrey(seenCtx, pixels, FIELD); }

  function percent(p) { return (100 * p).toFixed(1) + " %"; }

  function display(pixels, announce) {
    paintSeen(pixels);
    var empty = !pixels.some(function (v) { return v > 0; });
    var probabilities = empty ? null : predict(pixels);
    var summary = [];
    NETWORKS.forEach(function (name) {
      var box = root.querySelector('[data-network="' + name + '"]');
      var answer = box.querySelector(".try-it-answer");
      var best = -1;
      if (probabilities) {
        var p = probabilities[name];
        best = p.indexOf(Math.max.apply(null, p));
        answer.textContent = String(best);
        summary.push(box.dataset.title + " " + best + " (" + percent(p[best]) + ")");
      } else {
        answer.textContent = "–";
      }
      box.querySelectorAll("li").forEach(function (li, digit) {
        var value = probabilities ? probabilities[name][digit] : 0;
        li.querySelector(".try-it-bar").style.height = (100 * value).toFixed(2) + "%";
        li.querySelector(".try-it-value").textContent = probabilities ? percent(value) : "no drawing";
        li.classList.toggle("try-it-best", digit === best);
      });
    });
    root.dataset.predicted = probabilities ? "yes" : "no";
    if (announce) status.textContent = probabilities ? "Predictions: " + summary.join(", ") + "." : "The drawing area is empty.";
    return probabilities;
  }

  function update(announce) {
    pending = false;
    return display(fitAndCentre(ink, GRID, GRID), announce);
  }

  function schedule() {
    if (!pending && api.loadedAt !== null) {
      pending = true;
      requestAnimationFrame(function () { update(false); });
    }
  }

  function point(event) {
    var rect = canvas.getBoundingClientRect();
    return [(event.clientX - rect.left) * GRID / rect.width, (event.clientY - rect.top) * GRID / rect.height];
  }

  canvas.addEventListener("pointerdown", function (event) {
    event.preventDefault();
    if (canvas.setPointerCapture && event.pointerId !== undefined) {
      try { canvas.setPointerCapture(event.pointerId); } catch (e) { /* synthetic events have no capture */ }
    }
    drawing = [point(event)];
    strokes.push(drawing);
    renderStroke(ink, GRID, GRID, drawing, PEN_RADIUS);
    paint();
    schedule();
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!drawing) return;
    event.preventDefault();
    var p = point(event), last = drawing[drawing.length - 1];
    drawing.push(p);
    renderSegment(ink, GRID, GRID, last[0], last[1], p[0], p[1], PEN_RADIUS);
    paint();
    schedule();
  });
  function endStroke() {
    if (!drawing) return;
    drawing = null;
    if (api.loadedAt !== null) update(true);
  }
  canvas.addEventListener("pointerup", endStroke);
  canvas.addEventListener("pointercancel", endStroke);

  function clear() {
    ink.fill(0);
    strokes = [];
    drawing = null;
    paint();
    if (api.loadedAt !== null) update(true);
  }

  /* Digits drawn by a few strokes on the 280 x 280 grid, for readers who do not use a pointer. */
  var EXAMPLES = {
    0: [[[140, 50], [100, 70], [85, 140], [100, 210], [140, 230], [180, 210], [195, 140], [180, 70], [140, 50]]],
    1: [[[120, 80], [150, 50], [150, 230]]],
    2: [[[95, 90], [120, 55], [165, 55], [185, 95], [170, 140], [95, 225], [195, 225]]],
    3: [[[95, 65], [175, 65], [130, 125], [175, 150], [180, 195], [140, 230], [95, 215]]],
    4: [[[160, 50], [90, 170], [200, 170]], [[165, 100], [165, 235]]],
    5: [[[185, 55], [110, 55], [100, 130], [150, 120], [185, 155], [180, 205], [140, 230], [95, 215]]],
    6: [[[175, 55], [120, 100], [95, 170], [115, 225], [160, 225], [180, 180], [155, 145], [110, 155]]],
    7: [[[90, 60], [190, 60], [130, 230]]],
    8: [[[140, 135], [100, 100], [115, 55], [165, 55], [180, 100], [140, 135], [95, 180], [115, 230], [165, 230], [185, 180], [140, 135]]],
    9: [[[180, 100], [150, 60], [105, 75], [100, 120], [140, 140], [180, 100], [175, 230]]],
  };

  function drawExample() {
    var digit = root.querySelector(".try-it-digit").value;
    ink.fill(0);
    strokes = EXAMPLES[digit].map(function (s) { return s.slice(); });
    strokes.forEach(function (s) { renderStroke(ink, GRID, GRID, s, PEN_RADIUS); });
    paint();
    if (api.loadedAt !== null) update(true);
  }

  root.querySelector(".try-it-clear").addEventListener("click", clear);
  root.querySelector(".try-it-example").addEventListener("click", drawExample);
  canvas.addEventListener("keydown", function (event) {
    if (event.key === "Delete" || event.key === "Backspace" || event.key === "Escape") {
      event.preventDefault();
      clear();
    }
  });

  api.show = function (pixels) { return display(Array.from(pixels), true); };
  api.strokes = function () { return strokes.map(function (s) { return s.map(function (p) { return p.slice(); }); }); };
  paint();
  paintSeen(new Float64Array(FIELD * FIELD));
  api.ready.then(function () {
    NETWORKS.forEach(function (name) {
      var run = root.querySelector('[data-network="' + name + '"] .try-it-run');
      run.textContent = "validation accuracy " + networks[name].meta.val_acc.toFixed(2) + " %";
    });
    root.dataset.ready = "yes";
    status.textContent = "The networks are loaded: draw a digit.";
    if (strokes.length) update(true);
  }, function (error) {
    root.dataset.ready = "failed";
    status.textContent = "The trained networks could not be loaded (" + error.message + ").";
    console.error("Try it:", error);
  });
})();
