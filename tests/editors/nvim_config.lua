-- Loomline for Neovim 0.11 (init.lua). The configuration README-editors.md shows; the editor
-- tests load this very file. vim.g.loomline_cmd / vim.g.loomline_settings are optional.
vim.lsp.config('loomline', {
  cmd = vim.g.loomline_cmd or { 'loomline', 'lsp' },
  filetypes = { 'python', 'javascript', 'typescript', 'go', 'rust', 'java', 'c', 'cpp', 'lua' },
  root_markers = { '.git' },
  init_options = vim.g.loomline_settings or { completion = { maxTokens = 64 } },
})
vim.lsp.enable('loomline')

local function loomline_client(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr, name = 'loomline' })[1]
end

-- Insert the inline completion at the cursor (0.11 has no ghost-text UI for it).
local function inline_complete()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = loomline_client(bufnr)
  if not client then return end
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  params.context = { triggerKind = 1 }
  client:request('textDocument/inlineCompletion', params, function(err, result)
    local item = not err and result and result.items and result.items[1]
    if not item then return end
    local range = item.range or { start = params.position, ['end'] = params.position }
    vim.lsp.util.apply_text_edits({ { range = range, newText = item.insertText } }, bufnr,
      client.offset_encoding)
  end, bufnr)
end

-- Generate code from an instruction at the cursor, or rewrite the visual selection.
local function generate(visual)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = loomline_client(bufnr)
  if not client then return end
  local arg
  if visual then
    local from, to = vim.fn.getpos('v'), vim.fn.getpos('.')
    if from[2] > to[2] or (from[2] == to[2] and from[3] > to[3]) then from, to = to, from end
    local p = vim.lsp.util.make_given_range_params(
      { from[2], from[3] - 1 }, { to[2], to[3] - 1 }, bufnr, client.offset_encoding)
    arg = { textDocument = p.textDocument, range = p.range }
    vim.api.nvim_feedkeys(vim.keycode('<Esc>'), 'n', false)
  else
    local p = vim.lsp.util.make_position_params(0, client.offset_encoding)
    arg = { textDocument = p.textDocument, position = p.position }
  end
  vim.ui.input({ prompt = 'Loomline: ' }, function(instruction)
    if not instruction or instruction == '' then return end
    arg.instruction = instruction
    -- The server streams the code in through workspace/applyEdit.
    client:request('workspace/executeCommand',
      { command = 'loomline.generate', arguments = { arg } }, nil, bufnr)
  end)
end

vim.api.nvim_create_autocmd('LspAttach', {
  callback = function(args)
    local client = vim.lsp.get_client_by_id(args.data.client_id)
    if not client or client.name ~= 'loomline' then return end
    -- Suggestions in the completion popup (<C-x><C-o> or as you type).
    vim.lsp.completion.enable(true, client.id, args.buf, { autotrigger = true })
    vim.keymap.set('i', '<C-l>', inline_complete, { buffer = args.buf, desc = 'Loomline: inline' })
    vim.keymap.set('n', '<leader>lg', function() generate(false) end,
      { buffer = args.buf, desc = 'Loomline: generate' })
    vim.keymap.set('x', '<leader>lg', function() generate(true) end,
      { buffer = args.buf, desc = 'Loomline: rewrite selection' })
    -- Code actions ("Implement this function", "Generate code from this comment"): gra.
  end,
})
