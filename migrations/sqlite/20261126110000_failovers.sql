-- Failovers beside the other rollup measures: requests that needed more than one
-- provider attempt (usage_events.attempts > 1), so the analytics API can give a
-- failover rate for any range, filter and grouping. Daily rows count them from
-- raw events, weekly and monthly rows sum the daily rows (Store::rollup). Rows
-- rolled up before this migration count none until they are rebuilt.
ALTER TABLE usage_daily   ADD COLUMN failovers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_weekly  ADD COLUMN failovers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_monthly ADD COLUMN failovers INTEGER NOT NULL DEFAULT 0;
