-- An approval request carries what the requester acknowledged (migration files, a
-- drifted stage), as JSON: {"migrations": {"note": …} | null, "drift": … | null}. A
-- deploy the server starts at the slot's start carries it, as the checklist. NULL:
-- nothing acknowledged.
ALTER TABLE approval_requests ADD COLUMN acks TEXT;
