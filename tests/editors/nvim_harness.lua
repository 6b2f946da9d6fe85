-- What every nvim_*_test.lua script starts with:
--   local H = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)), 'nvim_harness.lua'))
-- H.spec: $LOOMLINE_SPEC (JSON: {server, settings, file, out, config, timeout_ms, ...});
-- H.results: what the script saw, written to spec.out by H.write(); H.wait(what, predicate,
-- ms?); H.state.ready / H.state.status: the server's last loomline/status. Loading it sets up
-- the configuration a user writes (nvim_config.lua, shown in README-editors.md) with a status
-- handler for the test.
local H = {}
H.spec = vim.json.decode(os.getenv('LOOMLINE_SPEC'))
H.results = { steps = {} }
H.timeout = H.spec.timeout_ms or 60000
H.state = { ready = false, status = nil }

function H.write()
  local f = assert(io.open(H.spec.out, 'w'))
  f:write(vim.json.encode(H.results))
  f:close()
end

function H.wait(what, predicate, ms)
  if not vim.wait(ms or H.timeout, predicate, 20) then
    error('timed out waiting for ' .. what)
  end
end

--- Opens spec.file and waits for the loomline client to attach; returns the client.
function H.open()
  vim.cmd('edit ' .. vim.fn.fnameescape(H.spec.file))
  local client
  H.wait('the client to attach', function()
    client = vim.lsp.get_clients({ bufnr = 0, name = 'loomline' })[1]
    return client ~= nil
  end)
  return client
end

function H.wait_ready()
  H.wait('the engine to be ready', function() return H.state.ready end)
end

vim.g.loomline_cmd = H.spec.server
vim.g.loomline_settings = H.spec.settings
dofile(H.spec.config)
vim.lsp.config('loomline', {
  handlers = {
    ['loomline/status'] = function(_, result)
      H.state.status = result
      if result.state == 'ready' then H.state.ready = true end
    end,
  },
})

return H
