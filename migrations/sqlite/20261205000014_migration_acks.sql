-- Environment truth, part one: migration-aware promotion.
--
-- A deployment whose SHA differs from the stage's current SHA in files under the
-- pipeline's migration paths needs the promoter's acknowledgement ("tested against a
-- copy of production data"). What was acknowledged is kept with the deployment: the
-- files, as a JSON array of strings, and the promoter's optional note. NULL where the
-- deployment crossed no migration.
ALTER TABLE deployments ADD COLUMN migrations TEXT;
ALTER TABLE deployments ADD COLUMN migrations_note TEXT;
