-- Predictions for new rows: replace the subquery with the rows to score.
SELECT *
FROM ML.PREDICT(
  MODEL `acme-analytics.churn_bqml.model`,
  (SELECT * EXCEPT (`churned`) FROM `acme-analytics.churn_bqml.training_data` LIMIT 100)
);
