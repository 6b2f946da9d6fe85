;;; emacs_test.el --- Drives Emacs 28 + eglot against loomline, in batch mode -*- lexical-binding: t -*-
;; emacs --batch -Q -l emacs_test.el, with $LOOMLINE_SPEC_FILE (JSON):
;; {server: [cmd...], settings: {...}, file, out, steps: [...], capf: {line}, ...}
;; Writes what it saw to spec.out as JSON; {error: ...} when a step failed.

(require 'package)
(add-to-list 'package-directory-list "/usr/share/emacs/site-lisp/elpa")
(package-initialize)
(require 'eglot)
(require 'json)
(require 'cl-lib)

(defvar loomline-spec
  (json-parse-string
   (with-temp-buffer
     (insert-file-contents (getenv "LOOMLINE_SPEC_FILE"))
     (buffer-string))
   :object-type 'plist :array-type 'list))
(defvar loomline-results nil)
(defvar loomline-ready nil)
(defvar loomline-timeout (/ (or (plist-get loomline-spec :timeout_ms) 60000) 1000.0))

(defun loomline-write ()
  (with-temp-file (plist-get loomline-spec :out)
    (insert (json-encode loomline-results))))

(defun loomline-record (key value)
  (setq loomline-results (append loomline-results (list (cons key value))))
  (loomline-write))

(defun loomline-wait (what predicate &optional seconds)
  (let ((deadline (+ (float-time) (or seconds loomline-timeout))))
    (while (and (not (funcall predicate)) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (unless (funcall predicate)
      (error "Timed out waiting for %s" what))))

(defun loomline-goto-line-end (line)
  (goto-char (point-min))
  (forward-line line)
  (end-of-line))

(defun loomline-lines ()
  (split-string (buffer-substring-no-properties (point-min) (point-max)) "\n"))

;; The status notification tells when the engine is ready.
(cl-defmethod eglot-handle-notification
  (_server (_method (eql loomline/status)) &key state &allow-other-keys)
  (when (equal state "ready") (setq loomline-ready t)))

;; The configuration a user writes (README-editors.md).
(setq eglot-server-programs
      `((python-mode . (,@(plist-get loomline-spec :server)
                        :initializationOptions ,(plist-get loomline-spec :settings)))))
(setq eglot-confirm-server-initiated-edits nil)
(setq eglot-sync-connect t)
(setq jsonrpc-default-request-timeout 100) ; a real model on a busy CPU

(defun loomline-step-capf ()
  "completion-at-point at the end of a line (or at its :character): the candidates, then the
accepted line."
  (let ((spec (plist-get loomline-spec :capf)))
    (loomline-goto-line-end (plist-get spec :line))
    (when (plist-get spec :character)
      (beginning-of-line)
      (forward-char (plist-get spec :character))))
  (let* ((capf (eglot-completion-at-point))
         (start (nth 0 capf)) (end (nth 1 capf)) (table (nth 2 capf))
         (candidates (all-completions (buffer-substring-no-properties start end) table)))
    (completion-at-point)
    (list (cons 'candidates (vconcat (mapcar #'substring-no-properties candidates)))
          (cons 'line (buffer-substring-no-properties (line-beginning-position)
                                                      (line-end-position))))))

(defun loomline-step-code-action ()
  "The code actions on a comment line; runs the one with the wanted title."
  (let* ((spec (plist-get loomline-spec :code_action))
         (title (plist-get spec :title))
         (before (buffer-string)))
    (goto-char (point-min))
    (forward-line (plist-get spec :line))
    (let* ((actions (eglot-code-actions (point) (point) nil nil))
           (action (cl-find title actions :key (lambda (a) (plist-get a :title))
                            :test #'equal))
           (command (plist-get action :command)))
      (unless action (error "No code action %S among %S" title
                            (mapcar (lambda (a) (plist-get a :title)) actions)))
      (eglot-execute-command (eglot-current-server) (intern (plist-get command :command))
                             (vconcat (plist-get command :arguments)))
      (loomline-wait "the code action's edit" (lambda () (not (equal before (buffer-string)))))
      (list (cons 'titles (vconcat (mapcar (lambda (a) (plist-get a :title)) actions)))
            (cons 'lines (vconcat (loomline-lines)))))))

;; The generate command of README-editors.md, verbatim.
(defun loomline-generate (instruction)
  (interactive "sLoomline: ")
  (eglot--signal-textDocument/didChange)  ; the server must see the latest text first
  (eglot-execute-command
   (eglot-current-server) 'loomline.generate
   (vector (append (list :textDocument (eglot--TextDocumentIdentifier)
                         :instruction instruction)
                   (if (use-region-p)
                       (list :range (list :start (eglot--pos-to-lsp-position (region-beginning))
                                          :end (eglot--pos-to-lsp-position (region-end))))
                     (list :position (eglot--pos-to-lsp-position)))))))

(defun loomline-step-generate ()
  "loomline-generate at the start of a line; the buffer afterwards."
  (let ((spec (plist-get loomline-spec :generate))
        (before (buffer-string)))
    (goto-char (point-min))
    (forward-line (plist-get spec :line))
    (loomline-generate (plist-get spec :instruction))
    (loomline-wait "the generated code" (lambda () (not (equal before (buffer-string)))))
    (list (cons 'lines (vconcat (loomline-lines))))))

(condition-case err
    (progn
      (find-file (plist-get loomline-spec :file))
      (python-mode)
      (apply #'eglot (eglot--guess-contact))
      (loomline-wait "the server" (lambda () (eglot-current-server)))
      (loomline-wait "the engine to be ready" (lambda () loomline-ready))
      (dolist (step (plist-get loomline-spec :steps))
        (let ((started (float-time)))
          (loomline-record
           (intern step)
           (append (pcase step
                     ("capf" (loomline-step-capf))
                     ("code_action" (loomline-step-code-action))
                     ("generate" (loomline-step-generate)))
                   (list (cons 'ms (* 1000 (- (float-time) started)))))))))
  (error (loomline-record 'error (format "%S" err))))
(loomline-write)
(kill-emacs 0)
