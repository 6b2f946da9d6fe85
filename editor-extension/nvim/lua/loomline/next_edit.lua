-- Next edit suggestions for Neovim 0.11 from Loomline (or any server that answers GitHub
-- Copilot's `textDocument/copilotInlineEdit`).
--
--   require('loomline.next_edit').setup({})   -- in init.lua, after vim.lsp.enable('loomline')
--
-- After a change (TextChanged, TextChangedI) and a short pause the module asks the server for
-- the next edit; the server waits for the typing to pause itself and drops requests a newer
-- one superseded. A suggestion shows as extmarks: the replaced text highlighted (struck
-- through), the new text as virtual text after it (one line) or as virtual lines below it
-- that show the lines as they will read (indentation and the unchanged text around included).
-- In normal mode <Tab> jumps to it, <Tab> again applies it (one undo step); <Esc> dismisses it,
-- so does moving the cursor to another line (other than by the jump) or any other change.
-- Accepting runs the edit's command (`loomline.accept`), dismissing sends `loomline/event`
-- {type = 'dismiss'}: the same records as for inline completions.

local M = {}

local ns = vim.api.nvim_create_namespace('loomline_next_edit')
local group = vim.api.nvim_create_augroup('loomline_next_edit', { clear = true })

M.config = {
  client_name = 'loomline',
  --- ms after the last change before asking (the server adds its own wait for a pause).
  debounce_ms = 100,
  --- normal-mode keys; false: no mapping (call M.jump_or_accept() / M.dismiss() yourself).
  accept_key = '<Tab>',
  dismiss_key = '<Esc>',
}

--- Per buffer: { edit, client_id, line (the cursor's line when shown), jumped, timer, request }
local state = {}

local function buffer_state(bufnr)
  state[bufnr] = state[bufnr] or {}
  return state[bufnr]
end

local function client_for(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr, name = M.config.client_name })[1]
end

local function edit_id(edit)
  local args = edit.command and edit.command.arguments
  return args and args[1] ~= nil and tostring(args[1]) or nil
end

--- The suggestion shown in `bufnr` (the server's edit: range, text, textDocument, command).
function M.current(bufnr)
  local s = state[bufnr or vim.api.nvim_get_current_buf()]
  return s and s.edit or nil
end

local function clear(bufnr)
  local s = buffer_state(bufnr)
  s.edit, s.jumped, s.line = nil, false, nil
  if vim.api.nvim_buf_is_valid(bufnr) then vim.api.nvim_buf_clear_namespace(bufnr, ns, 0, -1) end
end

--- Byte column of an LSP position (UTF-16 or the client's encoding) in `bufnr`.
local function byte_col(bufnr, pos, encoding)
  local line = vim.api.nvim_buf_get_lines(bufnr, pos.line, pos.line + 1, false)[1] or ''
  return vim.str_byteindex(line, encoding, pos.character, false)
end

--- The same edit with its range grown to whole words on its first and last line: servers
--- send the smallest change (`r` -> `radius` as `adius` inserted after `r`), which reads
--- badly when shown. A word the new text leaves on a line of its own (the text starts or
--- ends with a line break: whole lines inserted) is not part of the change and stays out.
--- Positions in `encoding` units.
local function widen(bufnr, edit, encoding)
  local start, stop = edit.range.start, edit.range['end']
  local first = vim.api.nvim_buf_get_lines(bufnr, start.line, start.line + 1, false)[1] or ''
  local last = vim.api.nvim_buf_get_lines(bufnr, stop.line, stop.line + 1, false)[1] or ''
  local s_col, e_col = byte_col(bufnr, start, encoding), byte_col(bufnr, stop, encoding)
  local head = edit.text:match('^[\r\n]') and '' or first:sub(1, s_col):match('[%w_]*$')
  local tail = edit.text:match('[\r\n]$') and '' or last:sub(e_col + 1):match('^[%w_]*')
  if head == '' and tail == '' then return edit end
  local wide = vim.deepcopy(edit)
  wide.text = head .. edit.text .. tail
  wide.range.start.character = vim.str_utfindex(first, encoding, s_col - #head, false)
  wide.range['end'].character = vim.str_utfindex(last, encoding, e_col + #tail, false)
  return wide
end

--- The lines of `text`: LSP line breaks are `\n`, `\r\n` and a lone `\r` (a server sends the
--- document's own, and Neovim's buffer lines hold none of them).
local function split_lines(text)
  return vim.split((text:gsub('\r\n?', '\n')), '\n', { plain = true })
end

--- The virtual lines of a suggestion of several lines: the lines as they will read once it
--- is accepted, with the start line's text before the edit (its indentation) and the end
--- line's text after it; only the new text is highlighted as inserted. Also whether they go
--- above `stop.line` (an edit that ends at a line's start with a line break leaves that line
--- as it is: the preview stands before it instead of repeating it).
local function preview_lines(bufnr, edit, new_lines, start_col, end_col)
  local start, stop = edit.range.start, edit.range['end']
  local first = vim.api.nvim_buf_get_lines(bufnr, start.line, start.line + 1, false)[1] or ''
  local last = vim.api.nvim_buf_get_lines(bufnr, stop.line, stop.line + 1, false)[1] or ''
  local above = end_col == 0 and new_lines[#new_lines] == ''
  local count = above and #new_lines - 1 or #new_lines
  local virt_lines = {}
  for i = 1, count do
    local line = {}
    if i == 1 and start_col > 0 then table.insert(line, { first:sub(1, start_col) }) end
    if new_lines[i] ~= '' then table.insert(line, { new_lines[i], 'LoomlineNextEditInsert' }) end
    if i == count and not above and end_col < #last then
      table.insert(line, { last:sub(end_col + 1) })
    end
    if #line == 0 then line = { { '' } } end
    table.insert(virt_lines, line)
  end
  return virt_lines, above
end

local function render(bufnr, edit, encoding)
  vim.api.nvim_buf_clear_namespace(bufnr, ns, 0, -1)
  local start, stop = edit.range.start, edit.range['end']
  local start_col = byte_col(bufnr, start, encoding)
  local end_col = byte_col(bufnr, stop, encoding)
  if start.line ~= stop.line or start_col ~= end_col then
    vim.api.nvim_buf_set_extmark(bufnr, ns, start.line, start_col, {
      end_row = stop.line, end_col = end_col, hl_group = 'LoomlineNextEditDelete', priority = 200,
    })
  end
  local new_lines = split_lines(edit.text)
  local hint = { ' ⇥ Tab', 'LoomlineNextEditHint' }
  if #new_lines == 1 then
    vim.api.nvim_buf_set_extmark(bufnr, ns, stop.line, end_col, {
      virt_text = { { new_lines[1] ~= '' and new_lines[1] or '⌫', 'LoomlineNextEditInsert' }, hint },
      virt_text_pos = 'inline', priority = 200,
    })
  else
    local virt_lines, above = preview_lines(bufnr, edit, new_lines, start_col, end_col)
    table.insert(virt_lines[#virt_lines], hint)
    vim.api.nvim_buf_set_extmark(bufnr, ns, stop.line, 0,
      { virt_lines = virt_lines, virt_lines_above = above })
  end
  vim.api.nvim_buf_set_extmark(bufnr, ns, start.line, 0, {
    sign_text = '»', sign_hl_group = 'LoomlineNextEditHint',
  })
end

local function show(bufnr, client, edit)
  local s = buffer_state(bufnr)
  clear(bufnr)
  s.edit, s.client_id, s.jumped = widen(bufnr, edit, client.offset_encoding), client.id, false
  s.line = vim.api.nvim_win_get_cursor(0)[1] - 1
  render(bufnr, s.edit, client.offset_encoding)
  client:notify('textDocument/didShowInlineEdit', { item = edit })
end

local function handle(bufnr, client, version, err, result)
  if err or type(result) ~= 'table' or type(result.edits) ~= 'table' then return end
  local edit = result.edits[1]
  if not edit or not vim.api.nvim_buf_is_valid(bufnr) then return end
  -- The buffer changed since: the edit's positions no longer hold.
  if vim.lsp.util.buf_versions[bufnr] ~= version or edit.textDocument.version ~= version then return end
  show(bufnr, client, edit)
end

--- Asks for the next edit at the cursor of the current window now (`invoked`: the user asked,
--- so the server does not wait for a pause).
function M.request(bufnr, invoked)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local client = client_for(bufnr)
  if not client or vim.api.nvim_get_current_buf() ~= bufnr then return end
  local s = buffer_state(bufnr)
  if s.request then pcall(client.cancel_request, client, s.request) end
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  local version = vim.lsp.util.buf_versions[bufnr]
  params.textDocument.version = version
  params.context = { triggerKind = invoked and 1 or 2 }
  local ok, id = client:request('textDocument/copilotInlineEdit', params, function(err, result)
    s.request = nil
    handle(bufnr, client, version, err, result)
  end, bufnr)
  s.request = ok and id or nil
end

--- The suggestion is no longer wanted: it goes, and the server hears of it.
function M.dismiss(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local s = state[bufnr]
  if not s or not s.edit then return false end
  local id, client = edit_id(s.edit), vim.lsp.get_client_by_id(s.client_id)
  clear(bufnr)
  if id and client then client:notify('loomline/event', { type = 'dismiss', completionId = id }) end
  return true
end

local function accept(bufnr, s)
  local edit, client = s.edit, vim.lsp.get_client_by_id(s.client_id)
  clear(bufnr)
  if not client then return end
  s.applying = true
  vim.lsp.util.apply_text_edits({ { range = edit.range, newText = edit.text } }, bufnr,
    client.offset_encoding)
  s.applying = false
  if edit.command then
    client:request('workspace/executeCommand',
      { command = edit.command.command, arguments = edit.command.arguments }, function() end, bufnr)
  end
end

--- First call: the cursor goes to the suggestion; second (or with the cursor already in its
--- range): the edit is applied. False when no suggestion is shown.
function M.jump_or_accept(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local s = state[bufnr]
  if not s or not s.edit then return false end
  local client = vim.lsp.get_client_by_id(s.client_id)
  local start, stop = s.edit.range.start, s.edit.range['end']
  local row = vim.api.nvim_win_get_cursor(0)[1] - 1
  if s.jumped or (row >= start.line and row <= stop.line) or not client then
    accept(bufnr, s)
  else
    s.jumped = true
    s.line = start.line
    vim.api.nvim_win_set_cursor(0, { start.line + 1, byte_col(bufnr, start, client.offset_encoding) })
  end
  return true
end

local function on_change(bufnr)
  local s = buffer_state(bufnr)
  if s.applying then return end
  M.dismiss(bufnr)
  if s.timer then s.timer:stop() else s.timer = vim.uv.new_timer() end
  s.timer:start(M.config.debounce_ms, 0, vim.schedule_wrap(function()
    if vim.api.nvim_buf_is_valid(bufnr) and vim.api.nvim_get_current_buf() == bufnr then
      M.request(bufnr, false)
    end
  end))
end

local function on_cursor(bufnr)
  local s = state[bufnr]
  if not s or not s.edit then return end
  local row = vim.api.nvim_win_get_cursor(0)[1] - 1
  local r = s.edit.range
  if row ~= s.line and (row < r.start.line or row > r['end'].line) then M.dismiss(bufnr) end
end

local function map(bufnr, key, fn)
  if not key then return end
  vim.keymap.set('n', key, function()
    if not fn(bufnr) then
      -- Not ours this time: the key does what it would have done.
      vim.api.nvim_feedkeys(vim.keycode(key), 'n', false)
    end
  end, { buffer = bufnr, desc = 'Loomline: next edit' })
end

--- Starts watching `bufnr` (the LspAttach of the configured client does this).
function M.attach(bufnr)
  local s = buffer_state(bufnr)
  if s.attached then return end
  s.attached = true
  vim.api.nvim_create_autocmd({ 'TextChanged', 'TextChangedI' }, {
    group = group, buffer = bufnr, callback = function() on_change(bufnr) end,
  })
  vim.api.nvim_create_autocmd({ 'CursorMoved', 'CursorMovedI' }, {
    group = group, buffer = bufnr, callback = function() on_cursor(bufnr) end,
  })
  vim.api.nvim_create_autocmd({ 'BufLeave', 'BufWipeout' }, {
    group = group, buffer = bufnr,
    callback = function(args)
      M.dismiss(bufnr)
      if args.event == 'BufWipeout' then
        if s.timer then s.timer:close() end
        state[bufnr] = nil
      end
    end,
  })
  map(bufnr, M.config.accept_key, M.jump_or_accept)
  map(bufnr, M.config.dismiss_key, M.dismiss)
end

function M.setup(opts)
  M.config = vim.tbl_extend('force', M.config, opts or {})
  local deleted = vim.api.nvim_get_hl(0, { name = 'DiffDelete', link = false })
  vim.api.nvim_set_hl(0, 'LoomlineNextEditDelete',
    { bg = deleted.bg, ctermbg = deleted.ctermbg, strikethrough = true, default = true })
  vim.api.nvim_set_hl(0, 'LoomlineNextEditInsert', { link = 'DiffAdd', default = true })
  vim.api.nvim_set_hl(0, 'LoomlineNextEditHint', { link = 'Comment', default = true })
  vim.api.nvim_create_autocmd('LspAttach', {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == M.config.client_name then M.attach(args.buf) end
    end,
  })
  for _, client in ipairs(vim.lsp.get_clients({ name = M.config.client_name })) do
    for bufnr in pairs(client.attached_buffers) do M.attach(bufnr) end
  end
end

return M
