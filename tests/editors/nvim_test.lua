-- Drives Neovim 0.11 against loomline: run as `nvim --headless --clean -n -l nvim_test.lua`.
-- $LOOMLINE_SPEC (JSON): {server: [cmd...], settings: {...}, file, out, steps: [...], ...}.
-- Writes what it saw to spec.out as JSON; {error = ...} when a step failed.
local H = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)), 'nvim_harness.lua'))
local spec, results, timeout, wait, state = H.spec, H.results, H.timeout, H.wait, H.state

local function lines()
  return vim.api.nvim_buf_get_lines(0, 0, -1, false)
end

local client
local steps = {}

function steps.popup()
  -- Insert mode at the end of the line (or before p.character), ask vim.lsp.completion, take
  -- the first item with <C-y>, as a user accepts it (the item's snippet and additional edits
  -- are applied on CompleteDone, for an accepted item only: <Esc> keeps just the word).
  local p = spec.popup
  vim.api.nvim_win_set_cursor(0, { p.line + 1, p.character or 0 })
  _G.loomline_items = nil
  function _G.loomline_wait_items()
    vim.wait(timeout, function()
      local info = vim.fn.complete_info({ 'items' })
      if #info.items > 0 then
        _G.loomline_items = info.items
        return true
      end
      return false
    end, 20)
  end
  -- p.omnifunc: asked with <C-x><C-o> (vim.lsp.omnifunc) rather than vim.lsp.completion.get().
  local ask = p.omnifunc and '<C-x><C-o>' or '<Cmd>lua vim.lsp.completion.get()<CR>'
  -- p.key '<CR>': taken with Enter (the item selected, not inserted), which applies no
  -- additional edits, as many users take popup items.
  local key = p.key or '<C-y>'
  if key == '<CR>' then
    vim.opt.completeopt = 'menu,menuone,noinsert'
  end
  vim.api.nvim_feedkeys(vim.keycode((p.character and 'i' or 'A')
    .. ask .. '<Cmd>lua _G.loomline_wait_items()<CR>' .. key .. '<Esc>'), 'x', false)
  local items = {}
  for _, item in ipairs(_G.loomline_items or {}) do
    local lsp_item = vim.tbl_get(item, 'user_data', 'nvim', 'lsp', 'completion_item') or {}
    table.insert(items, {
      word = item.word,
      abbr = item.abbr,
      label = lsp_item.label,
      newText = vim.tbl_get(lsp_item, 'textEdit', 'newText'),
      insertTextFormat = lsp_item.insertTextFormat,
    })
  end
  wait('the accepted item', function() return #items == 0 or lines()[p.line + 1] ~= p.before end, 3000)
  return { items = items, line = lines()[p.line + 1] }
end

function steps.inline()
  local p = spec.inline
  local response = client:request_sync('textDocument/inlineCompletion', {
    textDocument = { uri = vim.uri_from_bufnr(0) },
    position = { line = p.line, character = p.character },
    context = { triggerKind = 1 },
  }, timeout, 0)
  assert(response and not response.err, 'inline completion failed: ' .. vim.inspect(response))
  local texts = {}
  for _, item in ipairs((response.result or {}).items or {}) do
    table.insert(texts, item.insertText)
  end
  return { items = texts }
end

function steps.generate()
  local g = spec.generate
  local response = client:request_sync('workspace/executeCommand', {
    command = 'loomline.generate',
    arguments = { {
      textDocument = { uri = vim.uri_from_bufnr(0) },
      position = { line = g.line, character = g.character },
      instruction = g.instruction,
    } },
  }, timeout, 0)
  assert(response and not response.err, 'generate failed: ' .. vim.inspect(response))
  return { result = response.result, lines = lines() }
end

function steps.code_action()
  -- What a user does: vim.lsp.buf.code_action on the comment line, applying our action.
  local c = spec.code_action
  vim.api.nvim_win_set_cursor(0, { c.line + 1, 0 })
  local before = table.concat(lines(), '\n')
  local titles = {}
  local response = client:request_sync('textDocument/codeAction', {
    textDocument = { uri = vim.uri_from_bufnr(0) },
    range = { start = { line = c.line, character = 0 }, ['end'] = { line = c.line, character = 0 } },
    context = { diagnostics = {} },
  }, timeout, 0)
  for _, action in ipairs((response and response.result) or {}) do
    table.insert(titles, action.title)
  end
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(action) return action.title == c.title end,
  })
  wait('the code action edit', function() return table.concat(lines(), '\n') ~= before end, 20000)
  vim.wait(300) -- the last edits of the stream
  return { titles = titles, lines = lines() }
end

-- Ask for an inline completion at a position until the model answers (the response is the
-- event; a bounded number of requests), apply it as nvim_config.lua's <C-l> does, and save.
function steps.accept()
  local a = spec.accept
  local position = { line = a.line, character = a.character }
  local deadline = vim.uv.now() + timeout
  local item, requests = nil, 0
  while not item do
    assert(requests < (a.requests or 4) and vim.uv.now() < deadline,
      'no inline completion after ' .. requests .. ' requests')
    requests = requests + 1
    local response = client:request_sync('textDocument/inlineCompletion', {
      textDocument = { uri = vim.uri_from_bufnr(0) },
      position = position,
      context = { triggerKind = 1 },
    }, deadline - vim.uv.now(), 0)
    assert(response and not response.err, 'inline completion failed: ' .. vim.inspect(response))
    local first = ((response.result or {}).items or {})[1]
    if first and type(first.insertText) == 'string' and first.insertText:match('%S') then
      item = first
    end
  end
  local range = item.range or { start = position, ['end'] = position }
  vim.lsp.util.apply_text_edits({ { range = range, newText = item.insertText } },
    vim.api.nvim_get_current_buf(), client.offset_encoding)
  vim.cmd('silent write')
  return {
    insertText = item.insertText,
    range = item.range,
    requests = requests,
    lines = lines(),
    fileformat = vim.bo.fileformat,
  }
end

-- The keymaps of nvim_config.lua, as a user presses them.
function steps.inline_keymap()
  local k = spec.inline_keymap
  vim.api.nvim_win_set_cursor(0, { k.line + 1, 0 })
  local before = lines()[k.line + 1]
  vim.api.nvim_feedkeys(vim.keycode('A<C-l><Esc>'), 'x', false)
  wait('the inline completion', function() return lines()[k.line + 1] ~= before end, 20000)
  return { line = lines()[k.line + 1] }
end

function steps.generate_keymap()
  local g = spec.generate_keymap
  vim.ui.input = function(_, on_confirm) on_confirm(g.instruction) end
  vim.api.nvim_win_set_cursor(0, { g.line + 1, 0 })
  local before = table.concat(lines(), '\n')
  vim.api.nvim_feedkeys(vim.keycode('<Esc>\\lg'), 'x', false)
  wait('the generated code', function() return table.concat(lines(), '\n') ~= before end, 20000)
  vim.wait(500) -- the last edits of the stream
  return { lines = lines() }
end

local ok, err = xpcall(function()
  client = H.open()
  H.wait_ready()
  for _, name in ipairs(spec.steps) do
    local started = vim.uv.hrtime()
    results.steps[name] = steps[name]()
    results.steps[name].ms = (vim.uv.hrtime() - started) / 1e6
    H.write()
  end
end, debug.traceback)
if not ok then
  results.error = tostring(err)
  results.status = state.status
end
H.write()
vim.cmd('qa!')
