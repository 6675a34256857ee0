-- The conversation list query (conversations/queries.ts) at 1M messages, in a throwaway schema:
--   psql "$DATABASE_URL" -f packages/server/bench/conversation-list-plan.sql
-- The tables carry the columns and indexes the migrations give them (foreign keys left out).
\set ON_ERROR_STOP on
drop schema if exists rb_explain cascade;
create schema rb_explain;
set search_path = rb_explain;
create table conversations (
  id uuid primary key default gen_random_uuid(), license_id uuid not null, product text not null, product_key_id uuid not null,
  visitor_id uuid not null, status text not null default 'open', last_seq integer not null default 0, page_url text,
  created_at timestamptz not null default now(), updated_at timestamptz not null default now(),
  attributes jsonb not null default '{}', user_id text, user_email text, user_name text);
create index conversations_list_idx on conversations (license_id, product, updated_at desc, id desc);
create index conversations_user_idx on conversations (license_id, product, user_id, updated_at) where user_id is not null;
create table messages (
  id uuid primary key default gen_random_uuid(), license_id uuid not null, conversation_id uuid not null, seq integer not null,
  role text not null, text text not null, client_message_id text, meta jsonb not null default '{}', created_at timestamptz not null default now(),
  constraint messages_conversation_seq_unique unique (conversation_id, seq),
  constraint messages_client_id_unique unique (conversation_id, client_message_id));
-- 50,000 conversations over 5 licenses x 2 products (the queried license+product holds 10,000 of them), 20 messages each.
insert into conversations (license_id, product, product_key_id, visitor_id, last_seq, updated_at)
select ('00000000-0000-4000-8000-00000000000' || (g % 5))::uuid, case when g % 10 < 5 then 'chatbot' else 'sales-agent' end,
       gen_random_uuid(), gen_random_uuid(), 20, now() - (g || ' seconds')::interval
from generate_series(1, 50000) g;
insert into messages (license_id, conversation_id, seq, role, text, created_at)
select c.license_id, c.id, s, case when s % 2 = 0 then 'assistant' else 'visitor' end, 'message ' || s, c.updated_at - ((20 - s) || ' seconds')::interval
from conversations c, generate_series(1, 20) s;
analyze conversations; analyze messages;
select count(*) as messages from messages;
select count(*) as in_license_product from conversations where license_id = '00000000-0000-4000-8000-000000000000' and product = 'chatbot';
-- First page.
explain (analyze, costs, buffers off, timing on)
select c.*, m.text as last_text, m.role as last_role, m.created_at as last_created_at
from conversations c left join messages m on m.conversation_id = c.id and m.seq = c.last_seq
where c.license_id = '00000000-0000-4000-8000-000000000000' and c.product = 'chatbot'
order by c.updated_at desc, c.id desc limit 26;
-- A page deep in the list (after the 4,000th conversation).
select updated_at, id from conversations where license_id = '00000000-0000-4000-8000-000000000000' and product = 'chatbot' order by updated_at desc, id desc offset 4000 limit 1 \gset
explain (analyze, costs, buffers off, timing on)
select c.*, m.text as last_text, m.role as last_role, m.created_at as last_created_at
from conversations c left join messages m on m.conversation_id = c.id and m.seq = c.last_seq
where c.license_id = '00000000-0000-4000-8000-000000000000' and c.product = 'chatbot'
  and (c.updated_at, c.id) < (:'updated_at'::timestamptz, :'id'::uuid)
order by c.updated_at desc, c.id desc limit 26;
drop schema rb_explain cascade;
