-- The least a durable message write can cost: one INSERT of a message row
-- (the messages table as Parley has it, its indexes included) and its
-- commit, nothing else. The load tool's send scenario runs it beside the
-- server as the physical bound of a send, so that fewer statements per
-- send show as progress (send.sql replays the server's own statements).
-- Each pgbench client writes in one pair's conversation:
--   -D u0=<id of sender 0> -D c0=<id of pair 0's conversation> -D tag=<run tag>
-- Its rows take seqs far above any the server hands out, so they never
-- collide with the server's sends in the same conversations.
\set me :u0 + 2 * :client_id
\set conv :c0 + :client_id
\set r random(1, 1000000000000000)
INSERT INTO "messages" ("created_at", "seq", "kind", "type", "parts", "client_id", "conversation_id", "sender_id") VALUES (now(), 1000000000000000 + :r, 'text', 'normal', '[{"category":"text","content":"load message 1234"}]', concat('min-', :tag::text, '-', :client_id::text, '-', :r::text), :conv, :me);
