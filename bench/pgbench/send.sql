-- The statements Parley runs for one sendMessage(input: {to, text, clientId})
-- on an open direct conversation, in order, as traced with
-- `go run ./server/load -scenarios trace` (ent's SQL, columns and all).
-- Used by the load tool's send and latency scenarios as the database-only
-- bound of a send. Each pgbench client plays one sender/peer pair:
--   -D u0=<id of sender 0>  (sender i = u0+2i, its peer = u0+2i+1)
--   -D s0=<id of sender 0's session> (sender i's session = s0+2i)
--   -D c0=<id of pair 0's conversation> (pair i's = c0+i)
--   -D tag=<unique run tag> (client ids are tag-client-random)
-- Statements are counted by the load tool against a traced send: one per
-- line ending with ";" or "\gset".
\set me :u0 + 2 * :client_id
\set peer :me + 1
\set sess :s0 + 2 * :client_id
\set conv :c0 + :client_id
\set r random(1, 1000000000000000)
-- authenticate: no statement; the instance's session cache answers it
-- (internal/auth/sessioncache.go: one read per session per
-- PARLEY_SESSION_CACHE_TTL at most, which a sender's back-to-back sends
-- never reach). :sess stays for the variables' sake.
BEGIN;
-- retried: an earlier send with this client id?
SELECT "messages"."id", "messages"."created_at", "messages"."conversation_id", "messages"."sender_id", "messages"."seq", "messages"."kind", "messages"."type", "messages"."parts", "messages"."quote_id", "messages"."client_id", "messages"."revoked_at", "messages"."deleted_at" FROM "messages" WHERE "messages"."sender_id" = :me AND "messages"."client_id" = concat(:tag::text, '-', :client_id::text, '-', :r::text) LIMIT 2;
-- the recipient
SELECT "users"."id", "users"."created_at", "users"."updated_at", "users"."username", "users"."nickname", "users"."email", "users"."phone", "users"."password_hash", "users"."avatar", "users"."sign", "users"."sex", "users"."location", "users"."public_id", "users"."is_member", "users"."role", "users"."account_state", "users"."last_seen_at", "users"."parent_id" FROM "users" WHERE "users"."id" = :peer AND "users"."account_state" <> 'deleted' LIMIT 2;
-- settings.Require(private chat), Enabled(stranger chat): the settings, read once per
-- transaction. Stranger chat is on (the default), so the friendship is not asked:
-- it matters only when strangers may not chat or when the conversation opens.
SELECT "settings"."id", "settings"."created_at", "settings"."updated_at", "settings"."key", "settings"."value", "settings"."public" FROM "settings";
-- the direct conversation
SELECT "conversations"."id", "conversations"."created_at", "conversations"."updated_at", "conversations"."kind", "conversations"."direct_key", "conversations"."last_seq", "conversations"."last_message_at" FROM "conversations" WHERE "conversations"."direct_key" = concat(least(:me, :peer)::text, ':', greatest(:me, :peer)::text) LIMIT 2;
-- number the message (locks the conversation row until commit): ent.NextSeq
UPDATE "conversations" SET "last_seq" = COALESCE("conversations"."last_seq", 0) + 1, "last_message_at" = now(), "updated_at" = now() WHERE "id" = :conv RETURNING "last_seq" \gset
-- retried again, under the lock
SELECT "messages"."id", "messages"."created_at", "messages"."conversation_id", "messages"."sender_id", "messages"."seq", "messages"."kind", "messages"."type", "messages"."parts", "messages"."quote_id", "messages"."client_id", "messages"."revoked_at", "messages"."deleted_at" FROM "messages" WHERE "messages"."sender_id" = :me AND "messages"."client_id" = concat(:tag::text, '-', :client_id::text, '-', :r::text) LIMIT 2;
-- the Message create policy: the conversation is visible to the sender
SELECT "conversations"."id" FROM "conversations" WHERE "conversations"."id" = :conv AND ("conversations"."kind" = 'room' OR EXISTS (SELECT "conversation_members"."conversation_id" FROM "conversation_members" WHERE ("conversations"."id" = "conversation_members"."conversation_id" AND "conversation_members"."user_id" = :me) AND "conversation_members"."active")) LIMIT 1;
INSERT INTO "messages" ("created_at", "seq", "kind", "type", "parts", "client_id", "conversation_id", "sender_id") VALUES (now(), :last_seq, 'text', 'normal', '[{"category":"text","content":"load message 1234"}]', concat(:tag::text, '-', :client_id::text, '-', :r::text), :conv, :me) RETURNING "id" \gset msg_
-- the message's full-text index row (messaging.IndexHook, in the same transaction)
INSERT INTO message_search (message_id, doc) VALUES (:msg_id, '''load'':1 ''messag'':2 ''1234'':3'::tsvector);
-- the member rows, in one statement: the sender's read position, and the rows of
-- members who removed or hid the conversation (brought back). The other members'
-- lists move by the conversation's last_message_at (ent.ListActivityExpr).
UPDATE "conversation_members" SET "updated_at" = now(), "state" = 'chatting', "last_activity_at" = now(), "removed" = false, "read_seq" = CASE WHEN "user_id" = :me THEN :last_seq ELSE "read_seq" END, "delivered_seq" = CASE WHEN "user_id" = :me THEN :last_seq ELSE "delivered_seq" END, "last_read_at" = CASE WHEN "user_id" = :me THEN now() ELSE "last_read_at" END WHERE "conversation_members"."conversation_id" = :conv AND ("conversation_members"."user_id" = :me OR ("conversation_members"."active" AND ("conversation_members"."removed" OR "conversation_members"."state" = 'hidden')));
-- the event, with the event log's shared append lock taken before its id is drawn
WITH appender AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared(88379461756281)) INSERT INTO events (topic, kind, actor_id, subject_id, payload, join_topic, leave_topic, created_at) SELECT concat('conversation:', :conv::text), 'message.created', :me, :msg_id, convert_to(concat('{"actor":', :me::text, ',"subject":', :msg_id::text, '}'), 'UTF8'), NULL, NULL, now() FROM appender RETURNING id \gset ev_
COMMIT;
-- After the commit the hub wakes every instance, but not per send: wake-ups
-- coalesce, one pg_notify of the newest head in flight per instance
-- (realtime.Hub.Notify), so the script leaves it out.
