-- The board reads the marks of the commits it shows and the newest others, not every
-- mark ever made (CI marks every commit: the table grows with the history).
CREATE INDEX ready_marks_newest ON ready_marks (pipeline_id, marked_at);
