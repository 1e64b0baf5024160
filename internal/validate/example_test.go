package validate_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/chansync/chansync/internal/target/channel/channelbody"

	"github.com/chansync/chansync/internal/validate"
)

// ExampleTask validates a task as an HR system might write it: Chinese
// labels and local times are normalised in place, and every problem is
// reported at once, each naming its field.
func ExampleTask() {
	amount := json.Number("5000.500")
	task := &channelbody.Task{
		ChannelTaskID:        "T20240101001",
		ChannelCompanyID:     "C20240101001",
		TaskName:             "春节临时工招聘",
		TaskType:             "短期工",
		RecruitCount:         100,
		RecruitmentStartTime: "2024-01-20T08:00:00+08:00",
		RecruitmentEndTime:   "2024-02-10T23:59:59.999Z",
		Salary:               &channelbody.Salary{SalaryType: "月薪", Amount: &amount, Currency: "CNY"},
	}
	errs := validate.Task(task)
	fmt.Println(errs.Empty(), task.TaskType, task.Salary.SalaryType, *task.Salary.Amount)
	fmt.Println(task.RecruitmentStartTime, task.RecruitmentEndTime)

	task.TaskType = "seasonal"
	task.RecruitCount = 0
	task.RecruitmentEndTime = "2024-01-01T00:00:00Z"
	errs = validate.Task(task)
	for _, e := range errs {
		fmt.Printf("%s [%s]\n", e.Field, e.Rule)
	}
	fmt.Println(validate.NewRecordError("tasks/"+task.ChannelTaskID, errs))

	// Output:
	// true short_term monthly 5000.5
	// 2024-01-20T00:00:00Z 2024-02-10T23:59:59Z
	// task_type [enum]
	// recruit_count [positive]
	// recruitment_end_time [order]
	// tasks/T20240101001: task_type: "seasonal" is not a task_type: want one of short_term, long_term, part_time, intern; recruit_count: must be greater than 0; recruitment_end_time: must not be before recruitment_start_time
}

// ExampleIDCard tells apart the ways an ID number can be wrong.
func ExampleIDCard() {
	for _, id := range []string{"11010519491231002X", "110101199001011234", "110105199902301231", "1101051949"} {
		err := validate.IDCard(id)
		var fe *validate.FieldError
		if errors.As(err, &fe) {
			fmt.Printf("%s: %s (%s)\n", id, fe.Rule, fe.Detail)
			continue
		}
		fmt.Printf("%s: ok\n", id)
	}
	// Output:
	// 11010519491231002X: ok
	// 110101199001011234: checksum (check digit mismatch)
	// 110105199902301231: date (birth date is not a real date)
	// 1101051949: length (must be 18 characters, got 10)
}
