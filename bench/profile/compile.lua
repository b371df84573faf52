-- Profile target: N compilations of one statement shape (the compiled-cache
-- hit path: conversion to C nodes, the structure key, the LRU lookup):
--   valgrind --tool=callgrind lua5.4 bench/profile/compile.lua 20000
local ath = require("athanor")
local core = require("athanor.core")
local n = tonumber(arg[1] or "20000")
local md = ath.MetaData()
local t = ath.Table("bench_read", md, ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.Text), ath.Column("age", ath.Integer), ath.Column("score", ath.Float))
local stmt = ath.select(t):where(t.c.id:eq(5))
for _ = 1, n do core.compile(stmt, "sqlite", nil, true) end
io.write(n, " compilations, ", core.compile_stats().renders, " render(s)\n")
