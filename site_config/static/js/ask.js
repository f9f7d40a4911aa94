// The Ask box: POST the question, stream the answer over Server-Sent Events, Stop, feedback.
// Model text is only ever inserted with textContent; citation links are built as DOM nodes.
(function () {
  "use strict";

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function postJSON(url, body, token) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify(body || {}),
    }).then(function (response) {
      return response.json().then(function (data) { return { status: response.status, data: data }; });
    });
  }

  // Render text with [n] markers as links to the cited blocks; everything else stays plain text.
  function renderAnswer(container, text, citations) {
    var byNumber = {};
    (citations || []).forEach(function (c) { byNumber[String(c.number)] = c; });
    container.textContent = "";
    text.split(/\n+/).forEach(function (line) {
      if (!line.trim()) { return; }
      var p = document.createElement("p");
      var parts = line.split(/(\[\d{1,3}\])/);
      parts.forEach(function (part) {
        var match = /^\[(\d{1,3})\]$/.exec(part);
        var citation = match && byNumber[match[1]];
        if (citation && citation.url) {
          var a = document.createElement("a");
          a.className = "citation";
          a.href = citation.url;
          a.title = citation.title || "";
          a.textContent = part;
          p.appendChild(a);
        } else {
          p.appendChild(document.createTextNode(part));
        }
      });
      container.appendChild(p);
    });
  }

  function renderSources(list, citations) {
    list.textContent = "";
    (citations || []).forEach(function (c) {
      var li = document.createElement("li");
      li.value = c.number;
      var a = document.createElement("a");
      a.href = c.url;
      a.textContent = c.title || c.url;
      li.appendChild(a);
      list.appendChild(li);
    });
  }

  function setup(box) {
    var form = box.querySelector("[data-ask-form]");
    var submit = box.querySelector("[data-ask-submit]");
    var stop = box.querySelector("[data-ask-stop]");
    var answer = box.querySelector("[data-answer]");
    var textEl = box.querySelector("[data-answer-text]");
    var statusEl = box.querySelector("[data-answer-status]");
    var sourcesEl = box.querySelector("[data-answer-sources]");
    var feedback = box.querySelector("[data-feedback]");
    var label = box.querySelector("[data-ai-label]");
    var labelText = label.textContent;

    // The offline provider quotes the site's pages; say so wherever its output is shown.
    // An approved answer reused at once says when a reviewer approved it ("Reviewed on DATE").
    function labelFor(model, reviewedLabel) {
      if (reviewedLabel) {
        label.textContent = reviewedLabel + ": an AI-generated answer our team checked. Check the sources before relying on it.";
        return;
      }
      label.textContent = model === "extractive-minilm"
        ? "AI-generated answer (local mode, extractive, no language model): sentences quoted from this site's pages."
        : labelText;
    }
    var current = null;
    var source = null;

    function finish(message) {
      if (source) { source.close(); source = null; }
      textEl.setAttribute("aria-busy", "false");
      stop.hidden = true;
      submit.disabled = false;
      if (message !== undefined) { statusEl.textContent = message; }
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var question = form.question.value.trim();
      if (!question) { return; }
      var scope = form.querySelector("input[name=scope]:checked");
      var body = { question: question };
      if (scope && scope.value === "page") { body.page_id = parseInt(form.page_id.value, 10); }
      submit.disabled = true;
      answer.hidden = false;
      feedback.hidden = true;
      textEl.textContent = "";
      sourcesEl.textContent = "";
      statusEl.textContent = "Searching the site…";
      textEl.setAttribute("aria-busy", "true");
      postJSON("/api/ai/ask/", body, csrfToken(form)).then(function (res) {
        if (res.status !== 202) {
          var msg = (res.data && res.data.error && res.data.error.message) || "Sorry, something went wrong.";
          finish(res.status === 429 ? "You have asked a lot of questions. " + msg : msg);
          return;
        }
        current = res.data;
        stop.hidden = false;
        var text = "";
        source = new EventSource(current.stream_url);
        source.addEventListener("delta", function (e) {
          text += JSON.parse(e.data).text;
          statusEl.textContent = "";
          renderAnswer(textEl, text, []);
        });
        source.addEventListener("reset", function () { text = ""; textEl.textContent = ""; });
        source.addEventListener("done", function (e) {
          var data = JSON.parse(e.data);
          labelFor(data.model, data.reviewed_label);
          if (data.status === "done") {
            renderAnswer(textEl, data.text || text, data.citations);
            renderSources(sourcesEl, data.citations);
            feedback.hidden = false;
            finish("");
          } else if (data.status === "cancelled") {
            renderAnswer(textEl, data.text || text, []);
            finish("Stopped: the answer above is incomplete.");
          } else if (data.status === "awaiting_review") {
            textEl.textContent = "";
            finish("This answer is being checked by our team before it is shown. It will appear here once approved.");
            pollForOutcome(current.poll_url, 10000);
          } else {
            textEl.textContent = "";
            finish("Sorry, no answer can be shown for this question.");
          }
        });
        source.addEventListener("error", function (e) {
          if (e.data) {
            textEl.textContent = "";
            finish(JSON.parse(e.data).message || "Sorry, something went wrong.");
            return;
          }
          if (source.readyState === EventSource.CLOSED) {
            // The server refused the stream (too many open: 429, or streaming down: 503) and the
            // browser will not retry: the answer still comes, from the poll API.
            source = null;
            statusEl.textContent = "Waiting for the answer…";
            pollForOutcome(current.poll_url, 2000);
          }
          // Otherwise a dropped connection: EventSource reconnects with Last-Event-ID.
        });
      }).catch(function () { finish("Sorry, the question could not be sent. Please try again."); });
    });

    // The poll API's outcome: after a reviewer's decision the approved (or edited) answer, or a
    // neutral message; also where the answer comes from when the stream was refused.
    function pollForOutcome(pollUrl, intervalMs) {
      var timer = setInterval(function () {
        fetch(pollUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
          if (data.status === "pending" || data.status === "running") { return; }
          if (data.status === "awaiting_review") {
            if (intervalMs < 10000) {
              clearInterval(timer);
              finish("This answer is being checked by our team before it is shown. It will appear here once approved.");
              pollForOutcome(pollUrl, 10000);
            }
            return;
          }
          clearInterval(timer);
          finish();
          if (data.status === "done") {
            labelFor(data.model, data.reviewed_label);
            renderAnswer(textEl, data.result || "", data.citations);
            renderSources(sourcesEl, data.citations);
            feedback.hidden = false;
            statusEl.textContent = "";
          } else if (data.status === "cancelled") {
            // A stopped answer's partial text (once a reviewer approved it, where one must).
            renderAnswer(textEl, data.result || "", []);
            statusEl.textContent = "Stopped: the answer above is incomplete.";
          } else {
            statusEl.textContent = data.error || "Sorry, no answer can be shown for this question.";
          }
        });
      }, intervalMs);
    }

    stop.addEventListener("click", function () {
      if (!current) { return; }
      stop.disabled = true;
      postJSON(current.poll_url + "cancel/", {}, csrfToken(form)).finally(function () { stop.disabled = false; });
    });

    box.querySelectorAll("[data-vote]").forEach(function (button) {
      button.addEventListener("click", function () {
        if (!current) { return; }
        postJSON(current.poll_url + "feedback/", { vote: button.dataset.vote }, csrfToken(form)).then(function (res) {
          statusEl.textContent = res.status < 300 ? "Thank you for your feedback." : "Feedback could not be saved.";
        });
      });
    });
  }

  document.querySelectorAll("[data-ask]").forEach(setup);
})();
