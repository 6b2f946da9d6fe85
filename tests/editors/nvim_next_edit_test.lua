-- Drives Neovim 0.11 with editor-extension/nvim's next-edit module against loomline:
-- `nvim --headless --clean -n -l nvim_next_edit_test.lua`, spec in $LOOMLINE_SPEC:
-- {server, settings, file, out, config, plugin, rename = {line, character, text}, timeout_ms,
-- dismiss, fileformats (the 'fileformats' to open the file with), save (write the file after
-- accepting)}.
-- Renames a word as a user does (ciw in normal mode), waits for the suggestion's extmarks,
-- presses <Tab> (jump) and <Tab> (accept); then undoes, waits for the suggestion again and
-- presses <Esc>. Writes what it saw (and what the module sent to the server) to spec.out.
local H = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)), 'nvim_harness.lua'))
local spec, results, wait = H.spec, H.results, H.wait

local function text()
  return table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
end

vim.opt.runtimepath:prepend(spec.plugin)
local next_edit = require('loomline.next_edit')
next_edit.setup({ debounce_ms = 50 })

-- What the module sends: notifications and executeCommand requests.
local sent = {}
local function spy(client)
  local notify, request = client.notify, client.request
  client.notify = function(self, method, params)
    table.insert(sent, { method = method, params = params })
    return notify(self, method, params)
  end
  client.request = function(self, method, params, ...)
    if method == 'workspace/executeCommand' or method == 'textDocument/copilotInlineEdit' then
      table.insert(sent, { method = method, params = params })
    end
    return request(self, method, params, ...)
  end
end

local function methods()
  local names = {}
  for _, m in ipairs(sent) do table.insert(names, m.method) end
  return names
end

local function marks()
  local found = {}
  for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(0, -1, 0, -1, { details = true })) do
    local d = mark[4]
    local virt, lines = {}, {}
    for _, chunk in ipairs(d.virt_text or {}) do table.insert(virt, chunk[1]) end
    for _, line in ipairs(d.virt_lines or {}) do
      local texts = {}
      for _, chunk in ipairs(line) do table.insert(texts, chunk[1]) end
      table.insert(virt, table.concat(texts, ''))
      table.insert(lines, table.concat(texts, ''))
    end
    table.insert(found, { row = mark[2], col = mark[3], end_row = d.end_row, end_col = d.end_col,
      hl_group = d.hl_group, virt = table.concat(virt, ''), sign = d.sign_text,
      virt_lines = lines, above = d.virt_lines_above })
  end
  return found
end

local function press(keys)
  vim.api.nvim_feedkeys(vim.keycode(keys), 'mx', false)
end

-- Under `-l` no normal-mode loop runs between the script's keys, and that loop is what fires
-- TextChanged after a change in a real session: fire it as the loop would.
local function changed(bufnr)
  vim.api.nvim_exec_autocmds('TextChanged', { buffer = bufnr })
end

if spec.fileformats then vim.o.fileformats = spec.fileformats end

local ok, err = xpcall(function()
  spy(H.open())
  results.fileformat = vim.bo.fileformat
  H.wait_ready()
  local bufnr = vim.api.nvim_get_current_buf()
  local r = spec.rename

  -- The user renames the word under the cursor.
  vim.api.nvim_win_set_cursor(0, { r.line + 1, r.character })
  press('ciw' .. r.text .. '<Esc>')
  changed(bufnr)
  results.renamed = text()
  wait('a next edit to show', function() return next_edit.current(bufnr) ~= nil end)
  local shown = { edit = next_edit.current(bufnr), marks = marks(),
                  cursor = vim.api.nvim_win_get_cursor(0) }
  results.steps.shown = shown
  press('<Tab>')
  results.steps.jump = { cursor = vim.api.nvim_win_get_cursor(0), text = text(),
                         visible = next_edit.current(bufnr) ~= nil }
  press('<Tab>')
  results.steps.accept = { cursor = vim.api.nvim_win_get_cursor(0), text = text(),
                           visible = next_edit.current(bufnr) ~= nil, marks = marks() }
  if spec.save then vim.cmd('write') end
  if spec.dismiss then
    -- Undo the accepted edit: the suggestion comes back; <Esc> dismisses it.
    press('u')
    changed(bufnr)
    wait('the next edit to show again', function() return next_edit.current(bufnr) ~= nil end)
    local before = text()
    press('<Esc>')
    results.steps.dismiss = { visible = next_edit.current(bufnr) ~= nil, marks = marks(),
                              changed = text() ~= before }
  end
  results.sent = sent
  results.methods = methods()
end, debug.traceback)
if not ok then
  results.error = tostring(err)
  results.sent = sent
end
H.write()
vim.cmd('qa!')
